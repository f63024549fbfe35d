import { describe, expect, it } from "vitest";
import { formatTime, formatWhen } from "./when.js";

describe("moments", () => {
  it("are written one way, in the given zone, with the zone's name", () => {
    expect(formatWhen("2026-11-23T20:34:05Z", { timeZone: "Europe/Berlin" })).toBe("2026-11-23 21:34:05 CET");
    expect(formatWhen("2026-07-01T08:00:00Z", { timeZone: "Europe/Berlin" })).toBe("2026-07-01 10:00:00 CEST");
    expect(formatWhen("2026-11-23T20:34:05Z", { timeZone: "UTC" })).toBe("2026-11-23 20:34:05 UTC");
    expect(formatTime("2026-11-23T20:34:05Z", { timeZone: "UTC" })).toBe("20:34:05 UTC");
    expect(formatWhen("not a date")).toBe("—");
  });
});
