"""Domain signals: a lower area announces an event, a higher area subscribes (ARCHITECTURE.md, "Data flows one way").

One documented signal per event (blinker, as Indico's `indico/core/signals/`). Receivers run synchronously inside
the sender's transaction, so what they write commits or rolls back with the event itself; they take the object
as the sender and must not commit.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: An applicant accepted their offer (selection). Sender: the Application, already moved to `offer_accepted`;
#: sent once per offer, by the answer that won. The fellows area creates the fellow record.
offer_accepted = _signals.signal("offer-accepted")

#: Staff sent a shortlist's outcome (selection, once per shortlist). Sender: the shortlist's SelectionStage;
#: `advanced_ids`: the applications that advanced. The interviews area invites them to book a slot.
stage_outcome_sent = _signals.signal("stage-outcome-sent")

#: Staff created a call (calls). Sender: the new Call, flushed. The applications area gives it the default
#: application form, so every call has a form staff can edit (or replace by a copy of an earlier call's).
call_created = _signals.signal("call-created")
