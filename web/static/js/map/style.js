// How the map draws things: one place for every colour, line and fill.

export const STATUS_COLOURS = {
  pending: "#60a5fa",
  sent: "#2563eb",
  acknowledged: "#16a34a",
  overdue: "#dc2626",
  escalated: "#7c3aed",
  cancelled: "#9ca3af",
};
export const LEGEND_STATUSES = ["pending", "sent", "acknowledged", "overdue", "escalated"];

const KIND_STYLES = {
  county: { color: "#7b8b9a", weight: 1, fillColor: "#eef2f5", fillOpacity: 0.9 },
  park: { color: "#b45309", weight: 1.5, dashArray: "4 3", fillColor: "#fde7c8", fillOpacity: 0.9 },
  xpcc: { color: "#2f6f3a", weight: 1.5, dashArray: "7 3 2 3", fillColor: "#d9eed9", fillOpacity: 0.9 },
};

/** The three looks of the base map: county (and anything else), park, XPCC unit. */
export function kindGroup(kind) {
  if (kind === "park") return "park";
  if (kind && kind.startsWith("xpcc")) return "xpcc";
  return "county";
}

export function jurisdictionStyle(kind) {
  return { ...KIND_STYLES[kindGroup(kind)] };
}

export function kindSwatch(group) {
  return KIND_STYLES[group];
}

/** A notified jurisdiction: filled with its notice status, outline kept by kind. */
export function notifiedStyle(kind, status) {
  const base = jurisdictionStyle(kind);
  const colour = STATUS_COLOURS[status] || STATUS_COLOURS.sent;
  return { ...base, fillColor: colour, fillOpacity: 0.55, color: colour, weight: 2.5 };
}

export const ORIGIN_JURISDICTION = { color: "#111827", weight: 3 };

const RIVER_PALETTE = [
  "#1d4ed8", "#0891b2", "#0f766e", "#7c3aed", "#be185d",
  "#a16207", "#4d7c0f", "#0369a1", "#9333ea", "#c2410c",
];

const riverColours = new Map();

export function setRivers(rivers) {
  riverColours.clear();
  [...rivers].sort().forEach((name, i) => riverColours.set(name, RIVER_PALETTE[i % RIVER_PALETTE.length]));
}

export function riverColour(name) {
  if (!riverColours.has(name)) {
    riverColours.set(name, RIVER_PALETTE[riverColours.size % RIVER_PALETTE.length]);
  }
  return riverColours.get(name);
}

/** Reaches by river; a boundary reach (another bank) is dashed and wider. */
export function reachStyle(props) {
  const boundary = Boolean(props.co_jurisdictions);
  return {
    color: riverColour(props.river),
    weight: boundary ? 3.5 : 2.2,
    opacity: 0.95,
    dashArray: boundary ? "9 5" : null,
    lineCap: boundary ? "butt" : "round",
  };
}

export const PATH_STYLE = { color: "#e11d48", weight: 7, opacity: 0.75, lineCap: "round" };
export const STATION_STYLE = {
  radius: 3.5,
  color: "#1f2937",
  weight: 1.2,
  fillColor: "#ffffff",
  fillOpacity: 1,
};
