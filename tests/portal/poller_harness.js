// Runs the console's progress poller (templates/annotations/_progress_poll.html) on a small stand-in DOM: a poll box
// with a bar, a field and a scoped field, fetch answering the given JSON bodies in turn. Prints what the page shows.
// node poller_harness.js <template> <JSON list of answers> <data-watch>
const script = require("fs").readFileSync(process.argv[2], "utf8").replace(/<\/?script>/g, "");
const responses = JSON.parse(process.argv[3]);
function el(attrs, parent) {
  const e = {dataset: {}, parentElement: parent || null, textContent: "", children: [], tag: attrs.tag || "span", value: 0, max: 1};
  for (const [k, v] of Object.entries(attrs)) if (k !== "tag") e.dataset[k] = v;
  if (parent) parent.children.push(e);
  e.contains = (o) => { for (let p = o; p; p = p.parentElement) if (p === e) return true; return false; };
  e.closest = (sel) => { const key = sel.slice(6, -1); for (let p = e; p; p = p.parentElement) if (key in p.dataset) return p; return null; };
  e.all = () => e.children.flatMap((c) => [c, ...c.all()]);
  e.querySelectorAll = (sel) => e.all().filter((c) => sel === "[data-field]" ? "field" in c.dataset : c.tag === "progress" && "value" in c.dataset);
  return e;
}
const box = el({poll: "/p.json", running: "1", watch: process.argv[4] || ""});
const head = el({field: "bars.annotated.n"}, box);
const bar = el({tag: "progress", value: "bars.annotated.n", max: "bars.annotated.of"}, box);
const scope = el({scope: "imports.5"}, box);
const scoped = el({field: "photos_checked"}, scope);
let fetched = 0, reloaded = false;
global.document = {querySelectorAll: () => [box]};
global.location = {reload: () => { reloaded = true; }};
global.setTimeout = (f) => setImmediate(f);
global.fetch = () => { if (fetched >= responses.length) { throw new Error("polled after the last answer"); }
  const body = responses[fetched++]; return Promise.resolve({ok: true, json: () => Promise.resolve(body)}); };
eval(script);
process.on("exit", () => {  // once no timer or answer is pending: the poller has stopped or reloaded
  console.log(JSON.stringify({field: head.textContent, bar: [bar.value, bar.max], scoped: scoped.textContent, fetched, reloaded}));
});
