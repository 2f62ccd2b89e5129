"""The .ics invitation of a booking (RFC 5545, the icalendar library): the event in the candidate's own zone, with
that zone's VTIMEZONE, so a calendar shows the same wall-clock time the booking page did."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone

from fellowship.calls.models import Call
from fellowship.interviews.models import InterviewBooking, InterviewMode, InterviewSlot
from fellowship.models import utcnow
from fellowship.selection.models import SelectionStage


def invitation_ics(booking: InterviewBooking, slot: InterviewSlot, stage: SelectionStage, call: Call,
                   zone: str) -> str:
    """The invitation as iCalendar text; DTSTART/DTEND carry TZID=`zone`, defined by a VTIMEZONE."""
    calendar = Calendar()
    calendar.add("prodid", "-//Fellowship//Interviews//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    # The same UID for every version of the booking, a higher SEQUENCE at each reschedule: calendars move the event.
    event.add("uid", f"interview-booking-{booking.id}@fellowship")
    event.add("sequence", booking.version)
    event.add("dtstamp", utcnow())
    start = slot.starts_at.astimezone(ZoneInfo(zone))
    end = start + timedelta(minutes=slot.duration_minutes)
    if zone == "UTC":
        event.add("dtstart", start)
        event.add("dtend", end)
    else:
        # Wall-clock time with TZID (a zone at UTC+0 such as Dakar's would otherwise be written as plain UTC "Z").
        calendar.add_component(Timezone.from_tzid(zone))
        event.add("dtstart", start.replace(tzinfo=None), parameters={"TZID": zone})
        event.add("dtend", end.replace(tzinfo=None), parameters={"TZID": zone})
    event.add("summary", f"{stage.name}: {call.title}")
    if slot.mode is InterviewMode.IN_PERSON:
        event.add("location", slot.location)
    elif slot.mode is InterviewMode.VIDEO:
        event.add("location", slot.location)
        event.add("url", slot.location)
    event.add("description", f"{slot.mode.label}. {slot.location}".strip())
    calendar.add_component(event)
    return calendar.to_ical().decode("utf-8")
