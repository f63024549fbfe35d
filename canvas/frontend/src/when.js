// One way of writing a moment everywhere: 2026-11-23 21:34:05 CET, in the reader's own time
// zone, with the zone's name (as the server writes it in its own zone before this runs).

export function formatWhen(iso, { timeZone, seconds = true } = {}) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "—";
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", {
    timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23", timeZoneName: "short",
  }).formatToParts(date).map((p) => [p.type, p.value]));
  const time = `${parts.hour}:${parts.minute}${seconds ? `:${parts.second}` : ""}`;
  return `${parts.year}-${parts.month}-${parts.day} ${time} ${parts.timeZoneName}`;
}

// The time of day only (for a run's log), with the zone.
export function formatTime(iso, options = {}) {
  return formatWhen(iso, options).split(" ").slice(1).join(" ");
}

export function whenElement(iso) {
  const element = document.createElement("time");
  element.dateTime = iso;
  element.textContent = formatWhen(iso);
  return element;
}

// Every server-written <time data-local> on the page, in the reader's zone.
export function localiseTimes(root = document) {
  root.querySelectorAll("time[data-local]").forEach((t) => { t.textContent = formatWhen(t.getAttribute("datetime")); });
}
