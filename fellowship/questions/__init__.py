"""The questionnaire engine: questionnaires → sections → questions, and the answers people give.

It knows no domain: an owner (a call, a follow-up wave, a report kind) holds the foreign key to its
questionnaire and to each respondent's `Response`. The interface is described in /tmp/prompts/questions_spec.md
and in docs (issue 14).
"""
