"""Scheduled meetings over the wire: invitations (live and on reconnect), RSVPs and the roster, time
changes, cancelling, forwarding rules, reminders that survive a restart, attendance from the room's
call, missed meetings, notes, the iCalendar feed (parsed by the `icalendar` library) and bad input.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timezone

import icalendar
import pytest

from liaison_helpers import http_get, now_ms

HOUR = 3_600_000
SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


async def team(server):
    """An MSL organizer (who may invite any role), another MSL and an HCP of one tenant."""
    org = await server.login("olga", "msl", name="Dr Olga Berg")
    msl = await server.login("mika", "msl", name="Mika Laine")
    hcp = await server.login("hana", "hcp", name="Dr Hana Ito")
    return org, msl, hcp


async def schedule(org, invitees, starts_in=2 * HOUR, tz="Europe/Paris", **extra) -> dict:
    return await org.ok("meeting.create", title="Dosing review", starts_at=now_ms() + starts_in, duration_min=30,
                        tz=tz, invitees=invitees, **extra)


async def audit_actions(server, action: str) -> list[dict]:
    for _ in range(50):
        if server.audit_log.exists():
            found = [r for r in map(json.loads, server.audit_log.read_text().splitlines()) if r["action"] == action]
            if found:
                return found
        await asyncio.sleep(0.1)
    return []


async def test_create_invites_online_invitees_at_once_and_offline_ones_at_their_next_connect(server):
    org, msl, _ = await team(server)
    ben = await server.login("ben", "msl", name="Ben Okafor")
    await ben.close()  # Ben leaves before the meeting exists
    created = await schedule(org, ["mika", "ben"], agenda="Renal dosing")
    invite = await msl.next_event("meeting.invite", meeting=created["meeting"])
    assert invite["room"] == created["room"] and invite["title"] == "Dosing review" and invite["tz"] == "Europe/Paris"
    assert invite["organizer"] == {"user": "olga", "name": "Dr Olga Berg"}
    assert [(a["user"], a["rsvp"]) for a in invite["attendees"]] == [("olga", "accepted"), ("mika", "pending"),
                                                                     ("ben", "pending")]
    assert invite["status"] == "scheduled" and invite["agenda"] == "Renal dosing"
    system = await msl.next_event("msg", room=created["room"])
    assert system["kind"] == "system" and "scheduled “Dosing review”" in system["body"], system
    listed = {r["room"]: r for r in (await msl.ok("room.list"))["rooms"]}
    assert listed[created["room"]]["kind"] == "meeting", listed
    ben = await server.connect("ben-again")
    rid = await ben.send("hello", token=server.token("ben", "msl", name="Ben Okafor"), device="dev1")
    await ben.reply(rid)
    await ben.next_event("synced")
    types = [f.get("type") for f in ben.frames]
    assert "meeting.invite" in types and types.index("meeting.invite") < types.index("synced"), types
    # Delivered once: the next connect does not repeat it.
    await ben.close()
    again = await server.login("ben", "msl", device="dev2", name="Ben Okafor")
    await again.no_event("meeting.invite", 0.5)


async def test_rsvps_update_the_roster_for_everyone_and_a_new_time_resets_them(server):
    org, msl, hcp = await team(server)
    meeting = (await schedule(org, ["mika", "hana"]))["meeting"]
    await msl.ok("meeting.rsvp", meeting=meeting, response="accepted")
    await hcp.ok("meeting.rsvp", meeting=meeting, response="tentative")
    for c in (org, msl, hcp):
        updated = await c.next_event("meeting.updated", meeting=meeting, timeout=5)
        while [a["rsvp"] for a in updated["attendees"]] != ["accepted", "accepted", "tentative"]:
            updated = await c.next_event("meeting.updated", meeting=meeting, timeout=5)
    await org.ok("meeting.update", meeting=meeting, starts_at=now_ms() + 3 * HOUR)
    got = await org.ok("meeting.get", meeting=meeting)
    assert [a["rsvp"] for a in got["attendees"]] == ["accepted", "pending", "pending"], got
    r = await msl.request("meeting.update", meeting=meeting, title="mine now")
    assert r["code"] == "forbidden", r


async def test_cancel_notifies_every_attendee_and_closes_the_meeting(server):
    org, msl, hcp = await team(server)
    meeting = (await schedule(org, ["mika", "hana"]))["meeting"]
    await org.ok("meeting.cancel", meeting=meeting)
    for c in (msl, hcp):
        ev = await c.next_event("meeting.updated", meeting=meeting, status="cancelled")
        assert ev["status"] == "cancelled"
    r = await msl.request("meeting.rsvp", meeting=meeting, response="accepted")
    assert r["code"] == "not_found" and r["message"] == f"meeting {meeting} was cancelled", r


async def test_forwarding_follows_the_rules_and_every_attempt_is_audited(server):
    org, msl, hcp = await team(server)
    await server.login("hugo", "hcp", name="Dr Hugo Sand")
    await server.login("ben", "msl", name="Ben Okafor")
    closed = (await schedule(org, ["mika", "hana"]))["meeting"]
    r = await msl.request("meeting.forward", meeting=closed, user="ben")
    assert r["code"] == "forbidden" and r["message"] == f"meeting {closed} may be forwarded only by its organizer", r
    await org.ok("meeting.forward", meeting=closed, user="ben")
    opened = (await schedule(org, ["mika", "hana"], forwardable=True))["meeting"]
    r = await hcp.request("meeting.forward", meeting=opened, user="hugo")
    assert r["code"] == "forbidden" and r["message"] == "an hcp may not forward a meeting to another hcp", r
    await msl.ok("meeting.forward", meeting=opened, user="ben")
    ben_view = await msl.ok("meeting.get", meeting=opened)
    assert "ben" in [a["user"] for a in ben_view["attendees"]] and "hugo" not in [a["user"] for a in ben_view["attendees"]]
    records = await audit_actions(server, "meeting.forward")
    outcomes = sorted((r["actor"], r["detail"]["user"], r.get("code", r["outcome"])) for r in records)
    assert ("hana", "hugo", "forbidden") in outcomes and ("mika", "ben", "ok") in outcomes, outcomes
    assert ("mika", "ben", "forbidden") in outcomes and ("olga", "ben", "ok") in outcomes, outcomes


async def test_bad_zone_past_start_non_member_invitee_and_hcp_invitees_are_refused_and_change_nothing(server):
    org, msl, hcp = await team(server)
    room = (await org.ok("room.create", kind="group", members=["mika"], title="team"))["room"]
    await server.login("hugo", "hcp", name="Dr Hugo Sand")
    cases = [
        (dict(tz="Mars/Olympus"), "bad_request", "field 'tz' must be an IANA time zone name such as Europe/Paris, not 'Mars/Olympus'"),
        (dict(starts_at=now_ms() - 60_000), "bad_request", "field 'starts_at' must be in the future"),
        (dict(duration_min=24 * 60 + 1), "bad_request", "field 'duration_min' must be 1 to 1440"),
        (dict(room=room, invitees=["mika", "hana"]), "not_member", f"hana is not a member of room {room}"),
        (dict(invitees=["nobody"]), "not_found", "no user 'nobody'"),
    ]
    for fields, code, message in cases:
        params = dict(title="t", starts_at=now_ms() + HOUR, duration_min=30, tz="UTC", invitees=["mika"]) | fields
        r = await org.request("meeting.create", **params, malformed="duration_min" in fields)
        assert r["type"] == "error" and r["code"] == code and r["message"] == message, (fields, r)
    r = await hcp.request("meeting.create", title="t", starts_at=now_ms() + HOUR, duration_min=30, tz="UTC",
                          invitees=["hugo"])
    assert r["code"] == "forbidden" and r["message"] == "a hcp may not invite a hcp to a meeting", r
    assert (await org.ok("meeting.list"))["meetings"] == []
    assert org.is_open and hcp.is_open


async def test_an_hcp_may_schedule_a_meeting_with_an_msl(server):
    org, msl, hcp = await team(server)
    created = await hcp.ok("meeting.create", title="Question on dosing", starts_at=now_ms() + HOUR, duration_min=20,
                           tz="Asia/Tokyo", invitees=["mika"])
    invite = await msl.next_event("meeting.invite", meeting=created["meeting"])
    assert invite["organizer"] == {"user": "hana", "name": "Dr Hana Ito"}, invite
    await server.login("fay", "fmd", name="Dr Fay Moss", areas=["cardiology"])
    r = await hcp.request("meeting.create", title="t", starts_at=now_ms() + HOUR, duration_min=30, tz="UTC",
                          invitees=["fay", "mika"])
    assert r["code"] == "forbidden" and r["message"] == "a hcp may not invite a fmd to a meeting", r
    assert org.is_open and hcp.is_open


async def test_a_call_in_the_room_in_the_window_marks_the_meeting_held_with_attendance(server):
    org, msl, _ = await team(server)
    created = await schedule(org, ["mika"], starts_in=5 * 60_000)  # the window opens 15 min before
    call = (await org.ok("call.invite", room=created["room"], media="video", sdp=SDP))["call"]
    await msl.next_event("call.ring", call=call)
    await msl.ok("call.accept", call=call, sdp=SDP)
    await org.next_event("meeting.updated", meeting=created["meeting"], status="in_progress")
    await asyncio.sleep(0.3)
    await org.ok("call.hangup", call=call)
    await msl.next_event("meeting.updated", meeting=created["meeting"], status="held")
    got = await org.ok("meeting.get", meeting=created["meeting"])
    assert got["status"] == "held", got
    assert sorted(a["user"] for a in got["attendance"]) == ["mika", "olga"], got
    assert all(a["call"] == call and a["left_at"] - a["joined_at"] >= 300 for a in got["attendance"]), got


async def test_notes_are_stored_returned_by_meeting_get_and_kept_off_hcps(server):
    org, msl, hcp = await team(server)
    meeting = (await schedule(org, ["mika", "hana"]))["meeting"]
    note = (await msl.ok("meeting.note", meeting=meeting, kind="follow_up", text="Send the renal study"))["note"]
    r = await hcp.request("meeting.note", meeting=meeting, kind="notes", text="mine")
    assert r["code"] == "forbidden" and r["message"] == "an hcp may not write meeting notes", r
    got = await org.ok("meeting.get", meeting=meeting)
    assert [(n["note"], n["author"], n["kind"], n["text"]) for n in got["notes"]] == [
        (note, {"user": "mika", "name": "Mika Laine"}, "follow_up", "Send the renal study")], got
    assert (await hcp.ok("meeting.get", meeting=meeting))["notes"] == []


async def test_call_note_is_for_the_parties_of_a_call_that_connected(server):
    org, msl, hcp = await team(server)
    room = (await org.ok("room.create", kind="direct", members=["mika"]))["room"]
    call = (await org.ok("call.invite", room=room, media="audio", sdp=SDP))["call"]
    await msl.next_event("call.ring", call=call)
    await msl.ok("call.accept", call=call, sdp=SDP)
    await org.ok("call.hangup", call=call)
    await asyncio.sleep(0.2)
    assert (await msl.ok("call.note", call=call, kind="insight", text="asked about trials"))["note"].startswith("n")
    r = await hcp.request("call.note", call=call, kind="notes", text="x")
    assert r["code"] in ("not_found", "forbidden"), r


async def test_a_meeting_without_a_call_is_missed_once_its_window_closes(server_factory):
    srv = server_factory(extra_args=["--meeting-late", "0.02"])  # decided 1.2 s after the end
    org, msl, _ = await team(srv)
    # The shortest meeting there is (1 min), so this test takes a minute.
    created = await org.ok("meeting.create", title="Quick sync", starts_at=now_ms() + 1000, duration_min=1,
                           tz="UTC", invitees=["mika"])
    ev = await msl.next_event("meeting.updated", meeting=created["meeting"], status="missed", timeout=75)
    assert ev["attendees"][0]["user"] == "olga"
    assert (await org.ok("meeting.get", meeting=created["meeting"]))["status"] == "missed"


async def test_the_reminder_arrives_once_also_after_a_restart_in_between(server_factory):
    srv = server_factory(extra_args=["--meeting-reminder", "0.05"])  # 3 s before the start
    org, msl, _ = await team(srv)
    created = await schedule(org, ["mika"], starts_in=6000)
    await org.close()
    await msl.close()
    srv.stop(5)
    again = server_factory.restart(srv)
    msl = await again.login("mika", "msl", name="Mika Laine")
    reminder = await msl.next_event("meeting.reminder", meeting=created["meeting"], timeout=10)
    assert reminder["room"] == created["room"] and reminder["title"] == "Dosing review"
    assert reminder["starts_at"] - now_ms() <= 3500
    await msl.close()
    again.stop(5)
    third = server_factory.restart(again)
    msl = await third.login("mika", "msl", name="Mika Laine")
    await msl.no_event("meeting.reminder", 3)


async def test_meetings_rsvps_and_notes_survive_kill_9(server_factory):
    srv = server_factory()
    org, msl, _ = await team(srv)
    meeting = (await schedule(org, ["mika"]))["meeting"]
    await msl.ok("meeting.rsvp", meeting=meeting, response="declined")
    await msl.ok("meeting.note", meeting=meeting, kind="notes", text="kept")
    srv.kill()
    again = server_factory.restart(srv)
    org = await again.login("olga", "fmd", name="Dr Olga Berg")
    got = await org.ok("meeting.get", meeting=meeting)
    assert [a["rsvp"] for a in got["attendees"]] == ["accepted", "declined"] and got["notes"][0]["text"] == "kept", got


async def test_the_calendar_feed_parses_and_holds_the_utc_instant_for_new_york_and_kolkata(server):
    org, msl, _ = await team(server)
    start_ny = (now_ms() // 60_000 + 24 * 60) * 60_000  # a whole minute, a day ahead
    start_in = start_ny + 2 * HOUR
    ny = (await org.ok("meeting.create", title="New York, board; Q1", starts_at=start_ny, duration_min=45,
                       tz="America/New_York", invitees=["mika"]))["meeting"]
    kol = (await org.ok("meeting.create", title="Kolkata sync", starts_at=start_in, duration_min=30,
                        tz="Asia/Kolkata", invitees=["mika"]))["meeting"]
    await msl.ok("meeting.rsvp", meeting=ny, response="accepted")
    url = (await msl.ok("meeting.feed"))["url"]
    assert url.startswith(server.http + "/v1/calendar/") and url.endswith(".ics"), url
    url = url.removeprefix(server.http)
    status, headers, body = await asyncio.to_thread(server.get, url)
    assert status == 200 and headers["content-type"].startswith("text/calendar"), (status, headers)
    assert b"\r\n" in body and all(len(line) <= 75 for line in body.split(b"\r\n"))
    cal = icalendar.Calendar.from_ical(body)
    events = {e["UID"]: e for e in cal.walk("VEVENT")}
    assert {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")} == {"America/New_York", "Asia/Kolkata"}
    for uid, start, zone in ((f"{ny}@liaison", start_ny, "America/New_York"), (f"{kol}@liaison", start_in, "Asia/Kolkata")):
        dtstart = events[uid].decoded("DTSTART")
        assert dtstart.tzinfo is not None and str(events[uid]["DTSTART"].params["TZID"]) == zone
        assert dtstart.astimezone(timezone.utc) == datetime.fromtimestamp(start / 1000, timezone.utc), (uid, dtstart)
    assert str(events[f"{ny}@liaison"]["SUMMARY"]) == "New York, board; Q1"
    partstats = {str(a): a.params["PARTSTAT"] for a in [events[f"{ny}@liaison"]["ATTENDEE"]]}
    assert list(partstats.values()) == ["ACCEPTED"], partstats
    # A reset revokes the old feed.
    new_url = (await msl.ok("meeting.feed", reset=True))["url"].removeprefix(server.http)
    assert new_url != url
    assert (await asyncio.to_thread(server.get, url))[0] == 404
    assert (await asyncio.to_thread(server.get, new_url))[0] == 200
