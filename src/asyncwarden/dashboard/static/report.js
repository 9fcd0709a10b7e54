/* asyncwarden report: renders the data block into the page.
 *
 * Every string from the trace reaches the page through text nodes (textContent) or attribute
 * values, never as parsed markup, so a task named like an HTML tag shows as that text.
 * Charts are Chart.js (vendored beside this file, MIT); the lineage graph is plain SVG, built
 * with createElementNS, because it is two columns of boxes and lines.
 */
(function () {
  "use strict";

  var OUTCOME_COLOURS = {
    ok: "#2e7d32",
    done: "#1565c0",
    failed: "#c62828",
    cancelled: "#757575",
    pending: "#f9a825",
    batch: "#90a4ae",
  };
  var RULE_COLOURS = ["#c62828", "#6a1b9a", "#ef6c00", "#283593", "#00838f", "#558b2f"];
  var PAGE = 100;

  var data = JSON.parse(document.getElementById("aw-data").textContent);
  var batchesByKey = {};
  data.batches.forEach(function (b) { batchesByKey[b.key] = b; });
  var findingsByIndex = {};
  data.findings.forEach(function (f) { findingsByIndex[f.index] = f; });
  var combinesByIndex = {};
  data.combines.forEach(function (c) { combinesByIndex[c.index] = c; });
  var batchCharts = [];  // the selected batch's charts, destroyed when another is selected

  // ---- DOM helpers: children that are strings become text nodes -------------------------
  function el(tag, attrs) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function svg(tag, attrs) {
    var node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = String(value);
      else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, String(value));
    });
  }
  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  // ---- Formatting -------------------------------------------------------------------------
  function num(n) { return n === null || n === undefined ? "–" : Number(n).toLocaleString("en"); }
  function count(n, one, many) { return num(n) + " " + (Number(n) === 1 ? one : many); }
  function ms(v) {
    if (v === null || v === undefined) return "–";
    if (v >= 1000) return (v / 1000).toFixed(2) + " s";
    if (v >= 10) return v.toFixed(0) + " ms";
    return v.toFixed(2) + " ms";
  }
  function basename(path) { var parts = String(path).split(/[\\/]/); return parts[parts.length - 1]; }
  function siteText(site) {
    if (!site) return "unknown location";
    return basename(site.file) + ":" + site.line + (site.function ? " in " + site.function : "");
  }
  function siteNode(site) {
    return el("span", { class: "site", title: site ? site.file + ":" + site.line : null }, siteText(site));
  }
  function kindName(kind) {
    if (kind === "taskgroup") return "TaskGroup";
    if (kind === "batch") return "batch";
    return "asyncio." + kind + "()";
  }
  function batchTitle(b) { return "batch #" + (b.id === null ? b.key : b.id); }
  function runLabel(run) { return data.runs[run] || "run " + (run + 1); }
  function batchLink(key) {
    var b = batchesByKey[key];
    var label = b ? batchTitle(b) + " " + kindName(b.kind) : "batch " + key.split(":")[1];
    if (data.runs.length > 1) label += " · " + runLabel(Number(key.split(":")[0]));
    return el("a", { href: "#batch=" + encodeURIComponent(key), class: "batch-link" }, label);
  }
  function ruleColour(code) {
    var codes = Object.keys(data.summary.byRule);
    var i = codes.indexOf(code);
    return RULE_COLOURS[(i < 0 ? 0 : i) % RULE_COLOURS.length];
  }
  function ruleBadge(code) {
    return el("span", { class: "rule", style: "background:" + ruleColour(code) }, code);
  }
  function note(text) { return el("p", { class: "note" }, text); }
  function chartBox(height) {
    var canvas = el("canvas");
    return { box: el("div", { class: "chart", style: "height:" + height + "px" }, canvas), canvas: canvas };
  }
  function makeChart(canvas, config, owned) {
    config.options = config.options || {};
    config.options.animation = false;
    config.options.responsive = true;
    config.options.maintainAspectRatio = false;
    var chart = new Chart(canvas, config);
    if (owned) owned.push(chart);
    return chart;
  }

  // ---- Summary ----------------------------------------------------------------------------
  function summary() {
    var s = data.summary;
    var cards = el("div", { class: "cards" },
      card("Batches", s.batches, Object.keys(s.kinds).map(function (k) { return num(s.kinds[k]) + " " + kindName(k || "batch"); }).join(", ")),
      card("Tasks", s.tasks, [s.outcomes.failed ? num(s.outcomes.failed) + " failed" : null,
        s.outcomes.cancelled ? num(s.outcomes.cancelled) + " cancelled" : null,
        s.outcomes.pending ? num(s.outcomes.pending) + " pending" : null].filter(Boolean).join(", ") || "none failed, cancelled or pending"),
      card("concat / merge / join", s.combines, ""),
      card("Findings", s.findings, Object.keys(s.byRule).map(function (r) { return r + " × " + s.byRule[r]; }).join(", ") || "none", s.findings ? "bad" : "good")
    );
    var section = el("section", { id: "summary" }, el("h2", null, "Summary"), cards);
    var charts = el("div", { class: "grid summary-charts" });
    section.appendChild(charts);
    var rules = Object.keys(s.byRule);
    if (rules.length) {
      var box = chartBox(Math.max(160, 40 + 28 * rules.length));
      charts.appendChild(el("div", { class: "panel by-rule" }, el("h3", null, "Findings by rule"), box.box));
      makeChart(box.canvas, {
        type: "bar",
        data: {
          labels: rules.map(function (r) { return r + " " + ((data.rules[r] || {}).name || ""); }),
          datasets: [{ label: "findings", data: rules.map(function (r) { return s.byRule[r]; }),
            backgroundColor: rules.map(ruleColour), maxBarThickness: 26 }],
        },
        options: { indexAxis: "y", plugins: { legend: { display: false } },
          scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
    }
    // One batch has nothing to compare its start and wait with: its own section says both.
    if (data.batches.length > 1) charts.appendChild(overview());
    var context = [count(s.spans, "span", "spans") + " read from " + count(data.files.length, "file", "files")];
    if (s.otherSpans) context.push(num(s.otherSpans) + " of them not asyncwarden's");
    if (s.batches > data.batches.length) {
      context.push("showing " + num(data.batches.length) + " of " + num(s.batches) +
        " batches in detail (those with findings, feeding a concat/merge, then the slowest); " +
        "the call-site table counts all");
    }
    if (s.taskSpans === 0 && s.batches) {
      context.push("no task spans (ASYNCWARDEN_TASK_SPANS off): task rows come from the batch's attributes");
    }
    section.appendChild(note(context.join("; ") + "."));
    return section;
  }
  function overview() {
    // Every batch in the report as a point: when it started against how long it was awaited.
    var box = chartBox(160);
    var groups = [["with findings", OUTCOME_COLOURS.failed, true], ["without", OUTCOME_COLOURS.done, false]];
    makeChart(box.canvas, {
      type: "scatter",
      data: {
        datasets: groups.map(function (g) {
          var members = data.batches.filter(function (b) { return !!b.findings.length === g[2]; });
          return { label: "batches " + g[0], backgroundColor: g[1], pointRadius: 3, keys: members.map(function (b) { return b.key; }),
            data: members.map(function (b) { return { x: b.start, y: b.duration }; }) };
        }),
      },
      options: {
        scales: { x: { min: 0, title: { display: true, text: "started (ms since the first span)" } },
          y: { title: { display: true, text: "awaited (ms)" }, beginAtZero: true } },
        plugins: { tooltip: { callbacks: { label: function (ctx) {
          var b = batchesByKey[ctx.dataset.keys[ctx.dataIndex]];
          return batchTitle(b) + " " + kindName(b.kind) + " at " + siteText(b.site) + ": " + ms(b.duration);
        } } } },
        onClick: function (event, elements, chart) {
          if (!elements.length) return;
          var hit = elements[0];
          location.hash = "#batch=" + encodeURIComponent(chart.data.datasets[hit.datasetIndex].keys[hit.index]);
        },
      },
    });
    return el("div", { class: "panel overview" }, el("h3", null, "Batches over time (click one)"), box.box);
  }
  function card(title, value, detail, tone) {
    return el("div", { class: "card" + (tone ? " " + tone : "") },
      el("div", { class: "card-title" }, title), el("div", { class: "card-value" }, num(value)),
      el("div", { class: "card-detail" }, detail));
  }

  // ---- Findings ---------------------------------------------------------------------------
  function findingRow(f) {
    var batches = f.batches.length ? f.batches.map(function (k) { return [batchLink(k), " "]; }) : "–";
    return el("tr", { class: "finding", id: "finding-" + f.index },
      el("td", null, ruleBadge(f.rule), el("div", { class: "rule-name" }, f.name)),
      el("td", null, f.title ? el("div", { class: "finding-title" }, f.title) : null,
        el("pre", { class: "message" }, f.message || "(no message)"),
        f.sites.length ? el("ul", { class: "sites" }, f.sites.map(function (s) { return el("li", null, s); })) : null,
        f.fix ? el("div", { class: "fix" }, el("strong", null, "fix "), f.fix) : null),
      el("td", null, siteNode(f.site), f.where ? el("div", { class: "muted" }, f.where) : null),
      el("td", null, batches));
  }
  function findingsTable(list) {
    return el("table", { class: "findings" },
      el("thead", null, el("tr", null, el("th", null, "Rule"), el("th", null, "Message"),
        el("th", null, "Location"), el("th", null, "Batch"))),
      el("tbody", null, list.map(findingRow)));
  }
  function findings() {
    var section = el("section", { id: "findings" }, el("h2", null, "Findings"));
    if (!data.findings.length) {
      section.appendChild(note("No findings: asyncwarden saw nothing to report in these traces."));
      return section;
    }
    section.appendChild(findingsTable(data.findings));
    if (data.summary.findings > data.findings.length) {
      section.appendChild(note("Showing the first " + num(data.findings.length) + " of " + num(data.summary.findings) + " findings."));
    }
    return section;
  }

  // ---- One batch: timeline, orders, lineage -----------------------------------------------
  function taskRows(b) {
    if (b.tasks.length) {
      return b.tasks.map(function (t) {
        var label = "#" + (t[0] === null ? "?" : t[0]) + " " + (t[1] || t[2] || "");
        return { label: label, start: t[3], end: Math.max(t[4], t[3] + b.duration / 500), outcome: t[5],
          detail: [t[2] ? "coroutine " + t[2] : null, t[6] ? "result " + t[6] : null].filter(Boolean).join(", ") };
      });
    }
    // No task spans: what the batch's attributes say, and nothing more. Its counts are exact;
    // which positions finished is known from the completion order, from wait()'s done set (its
    // consumed order), or because nothing is pending. Otherwise one row per outcome, not per task.
    var end = Math.max(b.duration, 0.001);
    var clean = !b.failed && !b.cancelled;
    var completion = b.orders.completion;
    var rank = {};
    completion.forEach(function (p, i) { rank[p] = i; });
    var finished = null;
    if (completion.length) finished = completion;
    else if (b.kind === "wait" && b.done !== null && b.orders.consumed.length === b.done) finished = b.orders.consumed;
    else if (!b.pending) finished = range(b.size || 0);
    var whole = !b.ordersTruncated && finished !== null && (b.size || 0) - finished.length === (b.pending || 0);
    if (!whole) {
      var ok = (b.done || 0) - (b.failed || 0) - (b.cancelled || 0);
      return [["ok", ok], ["failed", b.failed], ["cancelled", b.cancelled], ["pending", b.pending]]
        .filter(function (c) { return c[1]; })
        .map(function (c) {
          return { label: count(c[1], "task", "tasks") + " " + c[0], start: 0, end: end, outcome: c[0],
            detail: "which positions is not recorded" };
        });
    }
    var done = {};
    finished.forEach(function (p) { done[p] = true; });
    var rows = [];
    for (var p = 0; p < Math.min(b.size || 0, data.limits.tasksPerBatch); p++) {
      var outcome = done[p] ? (clean ? "ok" : "done") : "pending";
      rows.push({ label: "#" + p, start: 0, end: end, outcome: outcome,
        detail: p in rank ? "completed " + (rank[p] + 1) + " of " + completion.length : "" });
    }
    return rows;
  }
  function timeline(b) {
    var rows = taskRows(b);
    var all = [{ label: batchTitle(b) + " (awaited)", start: 0, end: Math.max(b.duration, 0.001), outcome: "batch", detail: "" }].concat(rows);
    var labels = all.map(function (r) { return r.label; });
    var outcomes = ["batch", "ok", "done", "failed", "cancelled", "pending"].filter(function (o) {
      return all.some(function (r) { return r.outcome === o; });
    });
    var box = chartBox(Math.min(70 + 20 * all.length, 640));
    var wrapper = el("div", { class: "timeline", "data-rows": all.length,
      "data-outcomes": all.map(function (r) { return r.outcome; }).join(" ") }, box.box);
    makeChart(box.canvas, {
      type: "bar",
      data: {
        labels: labels,
        datasets: outcomes.map(function (o) {
          return {
            label: o === "batch" ? "batch span" : o === "done" ? "done (outcome per task unknown)" : o,
            data: all.map(function (r) { return r.outcome === o ? [r.start, r.end] : null; }),
            backgroundColor: OUTCOME_COLOURS[o], grouped: false, borderSkipped: false, barPercentage: 0.8,
          };
        }),
      },
      options: {
        indexAxis: "y",
        scales: { x: { type: "linear", min: 0, title: { display: true, text: "ms since the batch started" } },
          y: { ticks: { autoSkip: true } } },
        plugins: {
          legend: { position: "top" },
          tooltip: { callbacks: { afterLabel: function (ctx) { return all[ctx.dataIndex].detail; } } },
        },
      },
    }, batchCharts);
    var notes = [];
    var perTask = !b.tasks.length && rows.length && rows[0].label.charAt(0) === "#";
    if (!b.tasks.length) notes.push("Task spans were not recorded for this batch (set ASYNCWARDEN_TASK_SPANS=1): rows span the batch, outcomes come from its counts and orders.");
    else if (b.taskSpans > b.tasks.length) notes.push("Showing " + b.tasks.length + " of " + count(b.taskSpans, "task span", "task spans") + ".");
    if (perTask && b.size > rows.length) notes.push("Showing " + rows.length + " of " + count(b.size, "task", "tasks") + ".");
    notes.forEach(function (n) { wrapper.appendChild(note(n)); });
    return wrapper;
  }
  function orderChart(b) {
    var submission = b.orders.submission.length ? b.orders.submission : range(Math.min(b.size || 0, data.limits.order));
    var series = [["submitted", submission], ["completed", b.orders.completion], ["consumed", b.orders.consumed]]
      .filter(function (s) { return s[1].length; });
    var wrapper = el("div", { class: "orders" });
    var list = el("table", { class: "order-table" });
    series.forEach(function (s) {
      var cells = s[1].map(function (p, i) {
        var moved = s[0] !== "submitted" && submission[i] !== p;
        return el("td", { class: moved ? "moved" : null, title: "position " + p + (moved ? ", out of submission order" : "") }, String(p));
      });
      list.appendChild(el("tr", null, el("th", null, s[0]), cells));
    });
    wrapper.appendChild(el("div", { class: "order-scroll" }, list));
    if (series.length < 2) {
      wrapper.appendChild(note("Only the submission order is known for this batch."));
      return wrapper;
    }
    var ranks = series.map(function (s) { var r = {}; s[1].forEach(function (p, i) { r[p] = i; }); return r; });
    var positions = submission.slice(0, 40);
    var box = chartBox(Math.min(90 + 16 * Math.max(submission.length, 4), 420));
    wrapper.insertBefore(box.box, wrapper.firstChild);
    makeChart(box.canvas, {
      type: "line",
      data: {
        labels: series.map(function (s) { return s[0]; }),
        datasets: positions.map(function (p) {
          var points = ranks.map(function (r) { return p in r ? r[p] : null; });
          // Red when the result ends up (consumed, else completed) away from its submitted place.
          var last = points.filter(function (v) { return v !== null; }).pop();
          var moved = last !== points[0];
          return { label: "position " + p, data: points, borderColor: moved ? "#c62828" : "#9e9e9e",
            backgroundColor: moved ? "#c62828" : "#9e9e9e", borderWidth: moved ? 2.5 : 1.5, pointRadius: 4 };
        }),
      },
      options: {
        plugins: { legend: { display: false } },
        scales: { y: { reverse: true, title: { display: true, text: "rank (first at the top)" }, ticks: { precision: 0 } } },
      },
    }, batchCharts);
    if (submission.length > positions.length) wrapper.appendChild(note("Lines for the first " + positions.length + " positions; the table lists " + submission.length + "."));
    if (b.ordersTruncated) wrapper.appendChild(note("Orders are cut to " + data.limits.order + " entries."));
    return wrapper;
  }
  function range(n) { var r = []; for (var i = 0; i < n; i++) r.push(i); return r; }

  function combineLabel(c) {
    var rows = Array.isArray(c.rowsIn) ? c.rowsIn.reduce(function (a, v) { return a + v; }, 0) : c.rowsIn;
    return c.operation + " at " + siteText(c.site) + " — " + count(c.inputs, "input", "inputs") + ", " + count(rows, "row", "rows") + " in, " + num(c.rowsOut) + " out";
  }
  function lineageOf(b) {
    var wrapper = el("div", { class: "lineage-of" });
    if (!b.combines.length) {
      wrapper.appendChild(note("No concat/merge/join recorded taking this batch's results."));
      return wrapper;
    }
    wrapper.appendChild(el("ul", null, b.combines.map(function (i) {
      var c = combinesByIndex[i];
      if (!c) return el("li", null, "a combine beyond the report's limits");
      var others = c.batches.filter(function (k) { return k !== b.key; });
      return el("li", null, "→ ", el("strong", null, combineLabel(c)),
        c.findings.map(function (fi) { var f = findingsByIndex[fi]; return f ? [" ", ruleBadge(f.rule)] : null; }),
        others.length ? el("div", null, "also from ", others.map(function (k) { return [batchLink(k), " "]; })) : null,
        c.sources.length ? el("div", { class: "muted" }, "inputs in the order received (batch:position): " + c.sources.join(" ")) : null);
    })));
    return wrapper;
  }
  function detail(key) {
    var section = document.getElementById("batch");
    batchCharts.forEach(function (c) { c.destroy(); });
    batchCharts = [];
    clear(section);
    var b = batchesByKey[key];
    section.appendChild(el("h2", null, "Batch"));
    if (!b) {
      section.appendChild(note(data.batches.length ? "That batch is not in this report." : "No batches in these traces."));
      return;
    }
    var facts = [count(b.size, "task", "tasks"), "awaited " + ms(b.duration),
      b.returnWhen ? "return_when=" + b.returnWhen : null,
      b.timeout !== null && b.timeout !== undefined && b.timeout !== "" ? "timeout=" + b.timeout : null,
      "done " + num(b.done), b.failed ? "failed " + num(b.failed) : null,
      b.cancelled ? "cancelled " + num(b.cancelled) : null, b.pending ? "pending " + num(b.pending) : null,
      b.parent ? "in task " + b.parent : null, data.runs.length > 1 ? runLabel(b.run) : null].filter(Boolean);
    section.appendChild(el("h3", { class: "batch-title", "data-key": b.key }, batchTitle(b) + " · " + kindName(b.kind) + " at ", siteNode(b.site)));
    section.appendChild(el("p", { class: "facts" }, facts.join(" · ")));
    var own = b.findings.map(function (i) { return findingsByIndex[i]; }).filter(Boolean);
    if (own.length) {
      section.appendChild(el("ul", { class: "batch-findings" }, own.map(function (f) {
        return el("li", null, ruleBadge(f.rule), " ", el("strong", null, f.name), " ",
          f.title || f.message.split("\n")[0], " · at ", siteNode(f.site), " ",
          el("a", { href: "#finding-" + f.index }, "details"));
      })));
    }
    section.appendChild(el("div", { class: "grid" },
      el("div", { class: "panel wide" }, el("h3", null, "Timeline of its tasks"), timeline(b)),
      el("div", { class: "panel" }, el("h3", null, "Submission vs completion vs consumed order"), orderChart(b)),
      el("div", { class: "panel" }, el("h3", null, "Where its results went"), lineageOf(b))));
    document.querySelectorAll("tr.selected").forEach(function (r) { r.classList.remove("selected"); });
    var row = document.getElementById("row-" + key);
    if (row) row.classList.add("selected");
  }
  // ---- Lineage overview (SVG) ---------------------------------------------------------------
  function lineage() {
    var section = el("section", { id: "lineage" }, el("h2", null, "Lineage: batches into concat / merge / join"));
    var combines = data.combines.filter(function (c) { return c.batches.length; }).slice(0, 40);
    if (!combines.length) {
      section.appendChild(note("No concat/merge/join of task results was recorded."));
      return section;
    }
    var keys = [];
    combines.forEach(function (c) { c.batches.forEach(function (k) { if (keys.indexOf(k) < 0) keys.push(k); }); });
    var rowH = 34, width = 1000, left = 8, right = 540, boxW = 440, charW = 7.4;
    var fit = function (text, w) { var n = Math.floor((w - 16) / charW); return text.length > n ? text.slice(0, n - 1) + "…" : text; };
    var height = Math.max(keys.length, combines.length) * rowH + 16;
    var bY = function (i) { return 8 + i * rowH * Math.max(1, combines.length / Math.max(keys.length, 1)); };
    var cY = function (i) { return 8 + i * rowH * Math.max(1, keys.length / Math.max(combines.length, 1)); };
    var graph = svg("svg", { viewBox: "0 0 " + width + " " + height, width: "100%", class: "lineage-graph", role: "img", "aria-label": "lineage graph" });
    combines.forEach(function (c, ci) {
      c.batches.forEach(function (k) {
        var bi = keys.indexOf(k);
        var y1 = bY(bi) + 13, y2 = cY(ci) + 13;
        graph.appendChild(svg("path", { d: "M" + (left + boxW) + " " + y1 + " C" + (left + boxW + 60) + " " + y1 + " " + (right - 60) + " " + y2 + " " + right + " " + y2,
          class: c.findings.length ? "edge bad" : "edge" }));
      });
    });
    keys.forEach(function (k, i) {
      var b = batchesByKey[k];
      var label = b ? batchTitle(b) + " " + kindName(b.kind) + " · " + count(b.size, "task", "tasks") + " · " + siteText(b.site) : "batch " + k.split(":")[1];
      var link = svg("a", { href: "#batch=" + encodeURIComponent(k) },
        svg("rect", { x: left, y: bY(i), width: boxW, height: 26, rx: 4, class: b && b.findings.length ? "node bad" : "node" }),
        svg("text", { x: left + 8, y: bY(i) + 17 }, fit(label, boxW)),
        svg("title", null, label));
      graph.appendChild(link);
    });
    combines.forEach(function (c, i) {
      var label = combineLabel(c);
      var codes = c.findings.map(function (fi) { return (findingsByIndex[fi] || {}).rule; }).filter(Boolean);
      graph.appendChild(svg("g", null,
        svg("rect", { x: right, y: cY(i), width: width - right - 8, height: 26, rx: 4, class: codes.length ? "node combine bad" : "node combine" }),
        svg("text", { x: right + 8, y: cY(i) + 17 }, fit((codes.length ? codes.join(" ") + " · " : "") + label, width - right - 8)),
        svg("title", null, label)));
    });
    section.appendChild(el("div", { class: "graph-scroll" }, graph));
    if (data.combines.length > combines.length) section.appendChild(note("Showing " + combines.length + " of " + data.summary.combines + " concat/merge/join calls."));
    return section;
  }

  // ---- Batches table and call sites ----------------------------------------------------------
  function batchesTable() {
    var section = el("section", { id: "batches" }, el("h2", null, "Batches"));
    var filter = el("input", { type: "search", placeholder: "filter by kind, file, function, task…", class: "filter" });
    var onlyFindings = el("input", { type: "checkbox" });
    var body = el("tbody");
    var more = el("button", { type: "button" }, "show more");
    var shown = PAGE;
    function matches(b) {
      if (onlyFindings.checked && !b.findings.length) return false;
      var q = filter.value.trim().toLowerCase();
      if (!q) return true;
      var hay = [b.kind, siteText(b.site), b.site ? b.site.file : "", b.parent, runLabel(b.run), batchTitle(b)]
        .concat(b.tasks.map(function (t) { return t[1] + " " + t[2]; })).join(" ").toLowerCase();
      return hay.indexOf(q) >= 0;
    }
    function render() {
      clear(body);
      var rows = data.batches.filter(matches);
      rows.slice(0, shown).forEach(function (b) {
        body.appendChild(el("tr", { id: "row-" + b.key },
          el("td", null, batchLink(b.key)), el("td", null, siteNode(b.site)),
          el("td", { class: "n" }, num(b.size)), el("td", { class: "n" }, num(b.done)),
          el("td", { class: "n" + (b.failed ? " bad-text" : "") }, num(b.failed)),
          el("td", { class: "n" }, num(b.cancelled)),
          el("td", { class: "n" + (b.pending ? " warn-text" : "") }, num(b.pending)),
          el("td", { class: "n" }, ms(b.duration)),
          el("td", null, b.findings.map(function (i) { var f = findingsByIndex[i]; return f ? [ruleBadge(f.rule), " "] : null; }))));
      });
      more.hidden = rows.length <= shown;
      count.textContent = num(Math.min(rows.length, shown)) + " of " + num(rows.length) + " shown";
    }
    var count = el("span", { class: "muted" });
    filter.addEventListener("input", function () { shown = PAGE; render(); });
    onlyFindings.addEventListener("change", function () { shown = PAGE; render(); });
    more.addEventListener("click", function () { shown += PAGE; render(); });
    section.appendChild(el("div", { class: "controls" }, filter, el("label", null, onlyFindings, " only with findings"), count));
    section.appendChild(el("table", { class: "batches" },
      el("thead", null, el("tr", null, ["Batch", "Call site", "Size", "Done", "Failed", "Cancelled", "Pending", "Awaited", "Findings"].map(function (h) { return el("th", null, h); }))),
      body));
    section.appendChild(more);
    render();
    return section;
  }
  function sitesTable() {
    var section = el("section", { id: "sites" }, el("h2", null, "Call sites (all batches, aggregated)"));
    section.appendChild(el("table", { class: "sites-table" },
      el("thead", null, el("tr", null, ["Kind", "Call site", "Batches", "Tasks", "Median", "Max", "Findings"].map(function (h) { return el("th", null, h); }))),
      el("tbody", null, data.sites.map(function (s) {
        return el("tr", null, el("td", null, kindName(s.kind)), el("td", null, siteNode(s.site), data.runs.length > 1 ? el("div", { class: "muted" }, runLabel(s.run)) : null),
          el("td", { class: "n" }, num(s.batches)), el("td", { class: "n" }, num(s.tasks)),
          el("td", { class: "n" }, ms(s.p50)), el("td", { class: "n" }, ms(s.max)),
          el("td", { class: "n" + (s.findings ? " bad-text" : "") }, num(s.findings)));
      }))));
    return section;
  }

  // ---- Page -------------------------------------------------------------------------------------
  function route() {
    var match = /^#batch=(.+)$/.exec(location.hash);
    var key = match ? decodeURIComponent(match[1]) : null;
    if (!key) {
      var first = data.batches.filter(function (b) { return b.findings.length; })[0] || data.batches[0];
      key = first ? first.key : null;
    }
    detail(key);
  }

  var app = document.getElementById("app");
  clear(app);
  app.appendChild(el("header", null, el("h1", null, "asyncwarden report"),
    el("p", { class: "muted" }, "From " + data.files.map(basename).join(", ") + (data.runs.length ? " · " + count(data.runs.length, "run", "runs") + ": " + data.runs.join(", ") : ""))));
  app.appendChild(summary());
  app.appendChild(findings());
  app.appendChild(el("section", { id: "batch" }));
  app.appendChild(lineage());
  app.appendChild(batchesTable());
  app.appendChild(sitesTable());
  window.addEventListener("hashchange", function () {
    if (location.hash.indexOf("#batch=") !== 0) return;  // #finding-N: the browser scrolls
    route();
    var section = document.getElementById("batch");
    if (section.scrollIntoView) section.scrollIntoView();
  });
  route();
  document.body.setAttribute("data-ready", "1");
})();
