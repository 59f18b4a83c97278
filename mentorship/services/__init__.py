"""Business rules: plain functions over the session. They flush; callers commit once."""
