// A websocket to a run that replays what it missed after every reconnect.
export class LiveRun {
  constructor(path, { onEvent, onStatus, onMessage, dedupe = true }) {
    this.dedupe = dedupe;
    this.path = path;
    this.onEvent = onEvent;
    this.onStatus = onStatus || (() => {});
    this.onMessage = onMessage || (() => {});
    this.lastSeq = 0;
    this.delay = 500;
    this.closed = false;
    this.connect();
  }

  connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const after = this.dedupe ? `?after=${this.lastSeq}` : "";
    const url = `${scheme}://${window.location.host}${this.path}${after}`;
    this.socket = new WebSocket(url);
    this.socket.onopen = () => {
      this.delay = 500;
      this.onStatus("live");
    };
    this.socket.onmessage = (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      if (typeof data.seq === "number") {
        if (this.dedupe) {
          if (data.seq <= this.lastSeq) return; // seen already
          this.lastSeq = data.seq;
        }
        this.onEvent(data);
      } else {
        this.onMessage(data);
      }
    };
    this.socket.onclose = (event) => {
      if (this.closed) return;
      if (event.code === 4403) {
        this.onStatus("forbidden");
        return;
      }
      this.onStatus("reconnecting");
      const wait = this.delay;
      this.delay = Math.min(this.delay * 2, 10000);
      setTimeout(() => this.connect(), wait + Math.random() * 250);
    };
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  close() {
    this.closed = true;
    if (this.socket) this.socket.close();
  }
}
