"""Calls with a real WebRTC stack: two aiortc peers signal through the server (offer in
`call.invite`, answer in `call.accept`, ICE candidates trickled through `call.candidate`), open a
data channel and exchange messages over loopback. The callee has two devices: both ring, one
answers, the other is told `answered_elsewhere`.

aiortc leaves 127.0.0.1 out of its host candidates; design.md's two-line fix keeps every packet on
loopback (no STUN/TURN server, host candidates on 127.0.0.1 only)."""

from __future__ import annotations

import asyncio

import aioice.ice
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from liaison_helpers import Client, Server

aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]

ICE_TIMEOUT = 20.0
SIGNAL_TIMEOUT = 10.0


def split_candidates(sdp: str) -> tuple[str, list[dict]]:
    """The SDP without its `a=candidate` / `a=end-of-candidates` lines, and those candidates in the
    browser's RTCIceCandidateInit form ({candidate, sdpMid, sdpMLineIndex}), to trickle them."""
    kept, candidates = [], []
    mline, mid = -1, None
    pending: list[dict] = []
    for line in sdp.splitlines():
        if line.startswith("m="):
            for c in pending:
                c["sdpMid"] = mid
            candidates += pending
            pending, mline, mid = [], mline + 1, None
        elif line.startswith("a=mid:"):
            mid = line[len("a=mid:"):]
        if line.startswith("a=candidate:"):
            pending.append({"candidate": line[2:], "sdpMid": None, "sdpMLineIndex": mline})
            continue
        if line == "a=end-of-candidates":
            continue
        kept.append(line)
    for c in pending:
        c["sdpMid"] = mid
    candidates += pending
    return "\r\n".join(kept) + "\r\n", candidates


async def trickle(c: Client, call: str, candidates: list[dict]) -> None:
    """Send each candidate, then end-of-candidates as an empty candidate (as browsers do)."""
    for cand in candidates:
        await c.ok("call.candidate", call=call, candidate=cand)
    last = candidates[-1]
    await c.ok("call.candidate", call=call,
               candidate={"candidate": "", "sdpMid": last["sdpMid"], "sdpMLineIndex": last["sdpMLineIndex"]})


async def take_candidates(c: Client, call: str, pc: RTCPeerConnection | None) -> list[dict]:
    """Receive relayed candidates up to end-of-candidates, adding them to `pc` (if given)."""
    got = []
    for _ in range(64):
        ev = await c.next_event("call.candidate", SIGNAL_TIMEOUT, call=call)
        init = ev["candidate"]
        got.append(init)
        if not init["candidate"]:
            if pc is not None:
                await pc.addIceCandidate(None)
            return got
        if pc is not None:
            ice = candidate_from_sdp(init["candidate"].removeprefix("candidate:"))
            ice.sdpMid = init["sdpMid"]
            ice.sdpMLineIndex = init["sdpMLineIndex"]
            await pc.addIceCandidate(ice)
    raise AssertionError(f"[{c.label}] no end-of-candidates after 64 candidates")


async def wait_for(aw, what: str, timeout: float = ICE_TIMEOUT):
    try:
        return await asyncio.wait_for(aw, timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None


@pytest.mark.timeout(90)
async def test_two_aiortc_peers_connect_through_liaison_and_exchange_data_channel_messages(server):
    await aiortc_call(alice_at=server, phone_at=server, laptop_at=server)


async def aiortc_call(alice_at: Server, phone_at: Server, laptop_at: Server) -> None:
    """alice (on `alice_at`) calls bob, whose phone and laptop ring; the phone answers; the two aiortc
    peers reach `connected` and exchange data channel messages; the phone hangs up. Each device's
    connection is to the server given for it (in cluster mode, different nodes)."""
    phone = await phone_at.login("bob", "msl", device="phone", name="Bob")
    laptop = await laptop_at.login("bob", "msl", device="laptop", name="Bob")
    alice = await alice_at.login("alice", "msl", device="desk", name="Alice")
    room = (await alice.ok("room.create", kind="group", members=["bob"], title="webrtc"))["room"]

    caller = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    callee = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        loop = asyncio.get_running_loop()
        caller_open, callee_channel = loop.create_future(), loop.create_future()
        at_caller: asyncio.Queue[str] = asyncio.Queue()
        at_callee: asyncio.Queue[str] = asyncio.Queue()

        channel = caller.createDataChannel("chat")
        channel.on("open", lambda: caller_open.done() or caller_open.set_result(True))
        channel.on("message", lambda m: at_caller.put_nowait(m))

        @callee.on("datachannel")
        def on_datachannel(ch):
            ch.on("message", lambda m: at_callee.put_nowait(m))
            if not callee_channel.done():
                callee_channel.set_result(ch)

        # ---- the caller: offer (ICE gathered) in call.invite, its candidates trickled
        await wait_for(caller.setLocalDescription(await caller.createOffer()), "the caller's ICE gathering")
        offer, offer_candidates = split_candidates(caller.localDescription.sdp)
        assert offer_candidates, f"aiortc gathered no candidate: {caller.localDescription.sdp}"
        assert all(" 127.0.0.1 " in c["candidate"] for c in offer_candidates), offer_candidates
        call = (await alice.ok("call.invite", room=room, media="audio", sdp=offer))["call"]
        await trickle(alice, call, offer_candidates)

        # ---- both callee devices ring with the offer and get the caller's candidates
        for d in (phone, laptop):
            ring = await d.next_event("call.ring", SIGNAL_TIMEOUT, call=call)
            assert ring["sdp"] == offer and ring["media"] == "audio", ring
            assert ring["from"] == {"user": "alice", "name": "Alice", "device": "desk"}, ring
        await wait_for(callee.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer")), "offer")
        relayed = await take_candidates(phone, call, callee)
        assert relayed[:-1] == offer_candidates, relayed
        assert (await take_candidates(laptop, call, None))[:-1] == offer_candidates

        # ---- the phone answers (call.accept), trickles its candidates; the laptop stops ringing
        await wait_for(callee.setLocalDescription(await callee.createAnswer()), "the callee's ICE gathering")
        answer, answer_candidates = split_candidates(callee.localDescription.sdp)
        assert answer_candidates, f"aiortc gathered no candidate: {callee.localDescription.sdp}"
        await phone.ok("call.accept", call=call, sdp=answer)
        await trickle(phone, call, answer_candidates)
        ended = await laptop.next_event("call.ended", SIGNAL_TIMEOUT, call=call)
        assert ended["reason"] == "answered_elsewhere", ended
        await laptop.error("call.accept", "already_answered", call=call, sdp=answer)

        accepted = await alice.next_event("call.accepted", SIGNAL_TIMEOUT, call=call)
        assert accepted["by"] == {"user": "bob", "name": "Bob", "device": "phone"} and accepted["sdp"] == answer, accepted
        await wait_for(caller.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer")), "answer")
        assert (await take_candidates(alice, call, caller))[:-1] == answer_candidates
        await laptop.no_event("call.candidate", 0.0)

        # ---- ICE + DTLS + SCTP over loopback, then data both ways
        await wait_for(caller_open, "the caller's data channel to open")
        remote = await wait_for(callee_channel, "the callee's data channel")
        assert remote.label == "chat"
        channel.send("hello from alice over loopback")
        assert await wait_for(at_callee.get(), "alice's message") == "hello from alice over loopback"
        remote.send("hello back from bob's phone")
        assert await wait_for(at_caller.get(), "bob's message") == "hello back from bob's phone"
        assert caller.connectionState == "connected" and callee.connectionState == "connected"
        pair = caller.sctp.transport.transport.iceGatherer  # the ICE transport's local side
        assert all(c.ip == "127.0.0.1" for c in pair.getLocalCandidates())

        # ---- hang up through the server
        await phone.ok("call.hangup", call=call)
        ended = await alice.next_event("call.ended", SIGNAL_TIMEOUT, call=call)
        assert ended["reason"] == "hangup", ended
    finally:
        await asyncio.wait_for(asyncio.gather(caller.close(), callee.close(), return_exceptions=True), 10)
