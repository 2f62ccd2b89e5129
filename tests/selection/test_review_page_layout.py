"""The reviewer's page: a failed submit starts with an error summary at the top (role="alert", a focusable heading)
linking to each missing score's field (the side-by-side layout: tests/browser/test_review_page_layout.py)."""

from __future__ import annotations

import re

from tests.conftest import login, submit_form
from tests.selection.test_reviewing import fresh_rate_limits, page_of, score_form, setup_review  # noqa: F401


def test_a_failed_submit_starts_with_an_error_summary_linking_to_each_missing_score(client, app_ctx):
    _call, criteria, _application, (kenji,), (assignment,) = setup_review()
    login(client, kenji.email)
    html = submit_form(client, page_of(assignment), score_form(criteria, 4)).get_data(as_text=True)
    summary = re.search(r'<div class="error-summary" role="alert"[^>]*>(.*?)</div>', html, re.S)
    assert summary, "the page has an error summary"
    assert html.index('class="error-summary"') < html.index('<section aria-labelledby="sec-')  # before the application
    assert re.search(r'<h2 id="error-summary-title" tabindex="-1"[^>]*>', summary.group(1))
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary.group(1))
    assert [target for target, _ in links] == [f"score_{criteria[1].id}-0", "recommendation"]
    assert links[0][1].startswith(criteria[1].name)
    for target, _ in links:  # each link lands on a field of the form
        assert f'id="{target}"' in html
