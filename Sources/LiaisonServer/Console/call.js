// One WebRTC call over Liaison signaling: call.invite / call.ring / call.accept,
// trickled ICE through call.candidate, renegotiation (screen share) through call.sdp.

/** Local media: camera and microphone, falling back to less when a device is missing. */
async function localMedia(media) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    console.warn("no camera or microphone access here (a secure context, https or localhost, is needed): receiving only");
    return null;
  }
  const attempts = media === "video" ? [{ audio: true, video: true }, { audio: false, video: true }, { audio: true }] : [{ audio: true }];
  let lastError = null;
  for (const constraints of attempts) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch (err) {
      lastError = err;
    }
  }
  console.warn("no local media, receiving only:", lastError);
  return null;
}

export class Call extends EventTarget {
  /**
   * @param {object} o
   * @param {import('./connection.js').Connection} o.conn
   * @param {string} o.room
   * @param {"audio"|"video"} o.media
   * @param {"caller"|"callee"} o.side
   * @param {RTCIceServer[]} o.iceServers
   * @param {string} o.peer display name of the other side
   */
  constructor({ conn, room, media, side, iceServers, peer, id = null, offer = null }) {
    super();
    this.conn = conn;
    this.room = room;
    this.media = media;
    this.side = side;
    this.iceServers = iceServers;
    this.peer = peer;
    this.id = id;
    this.offer = offer;
    this.pc = null;
    this.localStream = null;
    this.remoteStreams = new Map();
    this.status = side === "caller" ? "calling" : "ringing";
    this.connectedAt = null;
    this.endedReason = null;
    this.signalingOpen = false; // local candidates may go out (invite/accept answered)
    this.localCandidates = [];
    this.remoteCandidates = [];
    this.renegotiate = false; // initial offer/answer done: negotiationneeded means call.sdp
    this.makingOffer = false;
    this.screen = null; // {track, sender}
  }

  get polite() {
    return this.side === "callee";
  }

  setStatus(status) {
    if (this.status === "ended") return;
    this.status = status;
    if (status === "connected" && !this.connectedAt) this.connectedAt = Date.now();
    this.dispatchEvent(new CustomEvent("change"));
  }

  buildPeerConnection() {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    this.pc = pc;
    pc.addEventListener("icecandidate", (ev) => {
      if (!ev.candidate) return;
      const c = ev.candidate;
      const candidate = { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex };
      if (this.signalingOpen) this.sendCandidate(candidate);
      else this.localCandidates.push(candidate);
    });
    pc.addEventListener("track", (ev) => {
      const stream = ev.streams[0] || new MediaStream([ev.track]);
      if (!this.remoteStreams.has(stream.id)) {
        this.remoteStreams.set(stream.id, stream);
        stream.addEventListener("removetrack", () => {
          if (stream.getTracks().length === 0) {
            this.remoteStreams.delete(stream.id);
            this.dispatchEvent(new CustomEvent("streams"));
          }
        });
      }
      this.dispatchEvent(new CustomEvent("streams"));
    });
    pc.addEventListener("connectionstatechange", () => this.connectionChanged());
    pc.addEventListener("iceconnectionstatechange", () => this.connectionChanged());
    pc.addEventListener("negotiationneeded", () => this.negotiate());
    return pc;
  }

  /** The connection state, with the ICE state for browsers lacking connectionState. */
  get connectionState() {
    if (!this.pc) return "new";
    if (this.pc.connectionState) return this.pc.connectionState;
    const ice = this.pc.iceConnectionState;
    return ice === "completed" ? "connected" : ice;
  }

  connectionChanged() {
    const state = this.connectionState;
    if (state === "connected") this.setStatus("connected");
    else if (this.status !== "ended" && (this.status === "connected" || this.status === "connecting" || this.status === "reconnecting")) {
      this.setStatus(state === "failed" ? "failed" : state === "disconnected" ? "reconnecting" : "connecting");
    }
    this.dispatchEvent(new CustomEvent("change"));
  }

  addLocalTracks() {
    if (this.localStream) {
      for (const track of this.localStream.getTracks()) this.pc.addTrack(track, this.localStream);
    }
    const kinds = new Set(this.localStream ? this.localStream.getTracks().map((t) => t.kind) : []);
    if (!kinds.has("audio")) this.pc.addTransceiver("audio", { direction: "recvonly" });
    if (this.media === "video" && !kinds.has("video")) this.pc.addTransceiver("video", { direction: "recvonly" });
  }

  /** Caller: media, offer, call.invite. */
  async place() {
    this.localStream = await localMedia(this.media);
    this.dispatchEvent(new CustomEvent("streams"));
    this.buildPeerConnection();
    this.addLocalTracks();
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const ok = await this.conn.request("call.invite", { room: this.room, media: this.media, sdp: this.pc.localDescription.sdp });
    this.id = ok.call;
    this.openSignaling();
    this.dispatchEvent(new CustomEvent("change"));
    return this.id;
  }

  /** Caller: the callee's answer arrived. */
  async accepted(ev) {
    this.setStatus("connecting");
    await this.pc.setRemoteDescription({ type: "answer", sdp: ev.sdp });
    this.renegotiate = true;
    await this.flushRemoteCandidates();
  }

  /** Callee: media, answer to the ring's offer, call.accept. */
  async accept() {
    this.setStatus("connecting");
    this.localStream = await localMedia(this.media);
    this.dispatchEvent(new CustomEvent("streams"));
    this.buildPeerConnection();
    await this.pc.setRemoteDescription({ type: "offer", sdp: this.offer });
    if (this.localStream) {
      for (const track of this.localStream.getTracks()) this.pc.addTrack(track, this.localStream);
    }
    await this.flushRemoteCandidates();
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    await this.conn.request("call.accept", { call: this.id, sdp: this.pc.localDescription.sdp });
    this.renegotiate = true;
    this.openSignaling();
    this.connectionChanged();
  }

  openSignaling() {
    this.signalingOpen = true;
    const queued = this.localCandidates;
    this.localCandidates = [];
    for (const c of queued) this.sendCandidate(c);
  }

  sendCandidate(candidate) {
    if (this.status === "ended") return;
    this.conn.request("call.candidate", { call: this.id, candidate }).catch((err) => console.warn("call.candidate:", err.message));
  }

  async remoteCandidate(candidate) {
    if (!candidate) return;
    if (!this.pc || !this.pc.remoteDescription) {
      this.remoteCandidates.push(candidate);
      return;
    }
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (err) {
      console.warn("addIceCandidate:", err.message);
    }
  }

  async flushRemoteCandidates() {
    const queued = this.remoteCandidates;
    this.remoteCandidates = [];
    for (const c of queued) await this.remoteCandidate(c);
  }

  /** negotiationneeded after the call is up (screen share): offer through call.sdp. */
  async negotiate() {
    if (!this.renegotiate || this.status === "ended") return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      await this.conn.request("call.sdp", { call: this.id, description: { type: this.pc.localDescription.type, sdp: this.pc.localDescription.sdp } });
    } catch (err) {
      console.warn("renegotiation:", err.message);
    } finally {
      this.makingOffer = false;
    }
  }

  /** A relayed call.sdp: the "perfect negotiation" pattern (the callee is polite). */
  async remoteDescription(description) {
    if (!this.pc || !description) return;
    const collision = description.type === "offer" && (this.makingOffer || this.pc.signalingState !== "stable");
    if (collision && !this.polite) return;
    await this.pc.setRemoteDescription(description);
    await this.flushRemoteCandidates();
    if (description.type === "offer") {
      await this.pc.setLocalDescription();
      await this.conn.request("call.sdp", { call: this.id, description: { type: this.pc.localDescription.type, sdp: this.pc.localDescription.sdp } });
    }
  }

  /** Adds the screen as a second video track and renegotiates (call.sdp). */
  async startShare() {
    if (!this.pc || this.screen) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) throw new Error("screen sharing is not available here");
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const track = stream.getVideoTracks()[0];
    const sender = this.pc.addTrack(track, stream);
    this.screen = { track, sender, stream };
    track.addEventListener("ended", () => this.stopShare());
    this.dispatchEvent(new CustomEvent("streams"));
  }

  stopShare() {
    if (!this.screen) return;
    const { track, sender } = this.screen;
    this.screen = null;
    track.stop();
    if (this.pc && this.pc.signalingState !== "closed") {
      try {
        this.pc.removeTrack(sender);
      } catch (err) {
        console.warn("removeTrack:", err.message);
      }
    }
    this.dispatchEvent(new CustomEvent("streams"));
  }

  hangup() {
    if (this.status === "ended") return;
    const type = this.status === "ringing" ? "call.reject" : "call.hangup";
    if (this.id) this.conn.request(type, { call: this.id }).catch((err) => console.warn(type, err.message));
    this.end(type === "call.reject" ? "rejected" : "hangup");
  }

  end(reason) {
    if (this.status === "ended") return;
    this.endedReason = reason;
    if (this.screen) this.screen.track.stop();
    this.screen = null;
    if (this.localStream) for (const t of this.localStream.getTracks()) t.stop();
    if (this.pc) this.pc.close();
    this.status = "ended";
    this.dispatchEvent(new CustomEvent("change"));
  }
}
