"""The charts' geometry (mentorship/charts.py): what a reader sees as long or short."""

from datetime import date
from types import SimpleNamespace

from mentorship import charts


def test_a_progress_bar_fills_its_share_and_stops_at_full():
    assert charts.progress(6, 24).fill == 25
    assert charts.progress(30, 24).fill == 100  # past the target month: full, not longer
    assert charts.progress(3, 0).fill == 0  # nothing to measure against
    assert charts.progress(6, 24, [(75.0, "target")]).marks == (75.0,)


def test_the_largest_bar_is_full_length_and_the_others_in_proportion():
    chart = charts.bar_chart([("Alpha", 5), ("Beta", 20), ("Gamma", 0)])
    widths = [bar.width for bar in chart.bars]
    assert widths == [charts.BAR_WIDTH / 4, charts.BAR_WIDTH, 0]
    assert [bar.y for bar in chart.bars] == [4, 28, 52]  # one row each, in order
    assert chart.height == 3 * charts.BAR_ROW + 4
    # The labels' column fits the longest label; the bars start after it.
    assert chart.label_width == len("Alpha") * charts.LABEL_CHARACTER + 10
    assert chart.width == round(chart.label_width + charts.BAR_WIDTH + 60)


def test_an_empty_bar_chart_has_no_bars_and_no_division_by_zero():
    chart = charts.bar_chart([])
    assert chart.bars == () and chart.height == 4
    assert [bar.width for bar in charts.bar_chart([("A", 0), ("B", 0)]).bars] == [0, 0]


def _point(cards: int, enrolled: int, month: int = 6):
    return SimpleNamespace(
        period_end=date(2025, month, 30), cards=cards, students_enrolled=enrolled
    )


def test_cards_and_enrolment_share_one_scale():
    chart = charts.cards_chart([_point(50, 100), _point(100, 100)])
    first, second = chart.columns
    assert first.cards_height == charts.CARDS_HEIGHT / 2
    assert second.cards_height == charts.CARDS_HEIGHT  # every student has a card
    assert first.enrolled_y == second.enrolled_y == charts.CARDS_BASE - charts.CARDS_HEIGHT
    assert (first.x, second.x) == (0, charts.CARDS_STEP)
    assert chart.width == 2 * charts.CARDS_STEP + 70


def test_a_count_sits_above_a_short_bar_and_inside_a_tall_one():
    short, tall = charts.cards_chart([_point(10, 100), _point(95, 100)]).columns
    assert short.value_y < charts.CARDS_BASE - short.cards_height  # above the bar's top
    assert tall.value_y > charts.CARDS_BASE - tall.cards_height  # below the top: inside


def test_periods_with_no_figures_draw_flat():
    [column] = charts.cards_chart([_point(0, 0)]).columns
    assert column.cards_height == 0 and column.enrolled_y == charts.CARDS_BASE
