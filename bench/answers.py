"""Seed a call's form and its applications' answers through the questionnaire engine's storage, in set-based SQL.

The form is the default application form (fellowship.applications.form_template.DEFAULT_FORM) written as rows;
each application of the call gets a response (id = the application's id), one answer set per section (a
jsonb_build_object per section over the whole call: one INSERT … SELECT per section) and the facets of its choice and
country answers (one INSERT … SELECT per faceted question). Tagged questions answer what the applications row holds
(the profile columns are copies of those answers); the others get a valid value of their kind that varies by row.
50,000 applications take a few seconds.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

#: Tag → SQL expression over the applications row `a` giving the stored JSON answer.
TAGGED = {
    "given_name": "to_jsonb(a.given_name)",
    "family_name": "to_jsonb(a.family_name)",
    "date_of_birth": "to_jsonb(to_char(coalesce(a.date_of_birth, date '1994-01-01' + (a.id % 3000)), 'YYYY-MM-DD'))",
    "nationality": "to_jsonb(a.nationality)",
    "country_of_residence": "to_jsonb(coalesce(a.country_of_residence, a.nationality))",
    "environmental_field": "to_jsonb(a.environmental_field)",
    "institution": "to_jsonb(coalesce(a.institution, 'University ' || (a.id % 40)))",
}
#: Tag → applications column filled from the answer, for tags the bench's own seed leaves empty.
BACKFILL = {"gender": "gender", "highest_degree": "highest_degree"}


def _choice_values(config: dict[str, Any]) -> list[str]:
    return [str(c["value"]) for c in config.get("choices") or []]


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


def answer_sql(kind: str, config: dict[str, Any], tag: str | None) -> str:
    """A SQL expression (over applications `a`) giving a valid stored answer of this kind that varies by row."""
    if tag in TAGGED:
        return TAGGED[tag]
    if kind in ("short_text", "email", "url"):
        return {"email": "to_jsonb('applicant' || a.id || '@bench.example')",
                "url": "to_jsonb('https://bench.example/' || a.id)"}.get(kind, "to_jsonb('Answer ' || a.id)")
    if kind == "long_text":
        words = max(int(config.get("min_words") or 20), 1)
        return f"to_jsonb(rtrim(repeat('environmental ', {words})) || ' plan ' || a.id)"
    if kind == "number":
        low, high = int(config.get("min") or 0), int(config.get("max") or 100)
        return f"to_jsonb({low} + a.id % {max(high - low + 1, 1)})"
    if kind == "date":
        return "to_jsonb(to_char(date '1994-01-01' + (a.id % 3000), 'YYYY-MM-DD'))"
    if kind == "single_choice":
        values = _choice_values(config)
        return f"to_jsonb(({_array(values)})[1 + a.id % {len(values)}])"
    if kind == "multiple_choice":
        values = _choice_values(config)
        return f"jsonb_build_array(({_array(values)})[1 + a.id % {len(values)}])"
    if kind == "yes_no":
        return "to_jsonb(a.id % 2 = 0)"
    if kind == "country":
        return "to_jsonb(a.nationality)"
    if kind == "language_level":
        return "jsonb_build_object('language', 'en', 'level', 'B2')"
    if kind == "group":
        return "'[]'::jsonb"
    return "'null'::jsonb"  # file answers: none in the bench (documents are their own table)


def facet_sql(kind: str) -> str | None:
    """The facet value (text) of a faceted answer `answer` (jsonb), or None for kinds without facets."""
    if kind in ("single_choice", "country"):
        return "answer #>> '{}'"
    if kind == "yes_no":
        return "CASE WHEN answer = 'true'::jsonb THEN 'yes' ELSE 'no' END"
    if kind == "multiple_choice":
        return "answer ->> 0"
    return None


def seed_form(conn: sa.Connection, call_id: int) -> int:
    """The default application form as rows, given to the call; returns the questionnaire's id."""
    from fellowship.applications.form_template import DEFAULT_FORM, TITLE

    qid = conn.scalar(sa.text(
        "INSERT INTO questionnaires (title, version, created_at, updated_at) VALUES (:t, 1, now(), now()) "
        "RETURNING id"), {"t": json.dumps({"en": TITLE})})
    for position, section in enumerate(DEFAULT_FORM):
        sid = conn.scalar(sa.text(
            "INSERT INTO questionnaire_sections (questionnaire_id, key, position, title) VALUES (:q, :k, :p, :t) "
            "RETURNING id"), {"q": qid, "k": section["key"], "p": position,
                              "t": json.dumps({"en": section["title"]})})
        for n, q in enumerate(section["questions"]):
            conn.execute(sa.text(
                "INSERT INTO questions (questionnaire_id, section_id, key, position, kind, label, help_text, required, "
                "personal_data, in_export, tag, config) VALUES (:q, :s, :k, :p, :kind, :label, :help, :req, :pd, "
                "true, :tag, :config)"),
                {"q": qid, "s": sid, "k": q["key"], "p": n, "kind": q["kind"], "label": json.dumps({"en": q["label"]}),
                 "help": json.dumps({"en": q["help_text"]}) if q["help_text"] else None, "req": q["required"],
                 "pd": q["personal_data"], "tag": q["tag"], "config": json.dumps(q["config"] or {})})
    conn.execute(sa.text("UPDATE calls SET questionnaire_id = :q WHERE id = :c"), {"q": qid, "c": call_id})
    return qid


def seed_answers(conn: sa.Connection, call_id: int, questionnaire_id: int, where: str = "true") -> None:
    """A response, an answer set per section and the facets for every application of the call matching `where`."""
    p = {"call": call_id, "q": questionnaire_id}
    scope = f"a.call_id = :call AND a.response_id IS NULL AND ({where})"
    conn.execute(sa.text(
        f"INSERT INTO responses (id, questionnaire_id, created_at) SELECT a.id, :q, now() FROM applications a "  # noqa: S608
        f"WHERE {scope}"), p)
    conn.execute(sa.text(f"UPDATE applications a SET response_id = a.id WHERE {scope}"), p)  # noqa: S608
    conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('responses', 'id'), "
                         "(SELECT max(id) FROM responses))"))
    mine = "a.call_id = :call AND a.response_id = a.id AND NOT EXISTS (SELECT 1 FROM answer_sets s " \
           "WHERE s.response_id = a.id)"
    sections = conn.execute(sa.text("SELECT id FROM questionnaire_sections WHERE questionnaire_id = :q "
                                    "ORDER BY position"), p).scalars().all()
    questions = conn.execute(sa.text(
        "SELECT id, section_id, key, kind, config, tag FROM questions WHERE questionnaire_id = :q AND group_id IS NULL "
        "ORDER BY position"), p).all()
    for section_id in sections:
        mine_here = [q for q in questions if q.section_id == section_id]
        pairs = ", ".join(f"'{q.key}', {answer_sql(q.kind, _config(q.config), q.tag)}" for q in mine_here)
        conn.execute(sa.text(
            "INSERT INTO answer_sets (response_id, section_id, data, questionnaire_version, updated_at) "  # noqa: S608
            f"SELECT a.id, {section_id}, jsonb_build_object({pairs}), 1, now() FROM applications a "
            f"WHERE {mine} AND ({where})"), p)
    for q in questions:
        value = facet_sql(q.kind)
        if value is None:
            continue
        conn.execute(sa.text(
            "INSERT INTO answer_facets (response_id, question_id, value) "  # noqa: S608
            f"SELECT s.response_id, {q.id}, v FROM (SELECT s.response_id, {value} AS v FROM answer_sets s "
            f"CROSS JOIN LATERAL (SELECT s.data -> '{q.key}' AS answer) x "
            f"WHERE s.section_id = {q.section_id} AND s.data ? '{q.key}') s "
            "JOIN applications a ON a.id = s.response_id "
            f"WHERE a.call_id = :call AND v IS NOT NULL AND ({where}) ON CONFLICT DO NOTHING"), p)
        column = BACKFILL.get(q.tag or "")
        if column:
            conn.execute(sa.text(
                f"UPDATE applications a SET {column} = s.data ->> '{q.key}' FROM answer_sets s "  # noqa: S608
                f"WHERE s.response_id = a.id AND s.section_id = {q.section_id} AND a.call_id = :call "
                f"AND a.{column} IS NULL AND ({where})"), p)


def _config(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else (value or {})
