// The workspace's light touch: keyboard review, actions without a reload, claims, polling.
// Every form also works without this script (plain POST, then a redirect back).
(() => {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const headers = { "X-CSRFToken": csrf, Accept: "application/json" };
  const POLL_MS = 10000;
  let currentId = null;

  const items = () => Array.from(document.querySelectorAll("#queue article.item"));
  const open = () => items().filter((el) => !el.classList.contains("done"));

  function announce(text) {
    const status = document.getElementById("status");
    if (status) status.textContent = text;
  }

  async function claim(el) {
    if (!["held", "pending"].includes(el.dataset.status)) return;
    const resp = await fetch(`/moderate/comments/${el.dataset.id}/claim`, { method: "POST", headers });
    if (resp.status === 409) {
      const body = await resp.json();
      el.classList.add("claimed");
      announce(`Claimed by ${body.details.claimed_by}`);
    }
  }

  function select(el) {
    if (!el) return;
    items().forEach((i) => i.classList.remove("current"));
    el.classList.add("current");
    const changed = el.dataset.id !== currentId;
    currentId = el.dataset.id;
    el.focus();
    el.scrollIntoView({ block: "nearest" });
    if (changed) claim(el);
  }

  function current() {
    return items().find((el) => el.dataset.id === currentId) || null;
  }

  function move(delta) {
    const list = items();
    const at = list.indexOf(current());
    const next = at < 0 ? list[0] : list[Math.min(Math.max(at + delta, 0), list.length - 1)];
    select(next);
  }

  async function submit(form, action) {
    const card = form.closest("article.item");
    const data = new FormData(form);
    data.set("action", action);
    // getAttribute: form.action would be the buttons named "action".
    const resp = await fetch(form.getAttribute("action"), { method: "POST", body: data, headers });
    const body = await resp.json();
    if (!resp.ok) {
      announce(body.message);
      return;
    }
    const holder = document.createElement("div");
    holder.innerHTML = body.html;
    const fresh = holder.firstElementChild;
    fresh.classList.add("done");
    card.replaceWith(fresh);
    announce(`${body.message}: comment ${body.comment_id}`);
    const rest = open();
    const after = rest.find((el) => Number(el.dataset.id) !== Number(fresh.dataset.id) &&
      fresh.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING);
    if (after || rest[0]) select(after || rest[0]);
    else { currentId = fresh.dataset.id; fresh.focus(); }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.matches("form.actions")) return;
    event.preventDefault();
    const action = event.submitter ? event.submitter.value : "approve";
    submit(form, action);
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const inReject = target.closest && target.closest(".reject-row");
    if (inReject && event.key === "Enter") {
      // Enter while choosing a reason or writing a note rejects (never the form's first button).
      event.preventDefault();
      submit(target.closest("form"), "reject");
      return;
    }
    if (event.key === "Escape" && inReject) {
      const card = target.closest("article.item");
      if (card) card.focus();
      return;
    }
    if (["INPUT", "SELECT", "TEXTAREA", "BUTTON"].includes(target.tagName) && event.key !== "Escape") {
      if (target.tagName !== "BUTTON") return;
    }
    const card = current() || target.closest?.("article.item");
    const form = card && card.querySelector("form.actions");
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "a": if (form) submit(form, "approve"); break;
      case "s": if (form) submit(form, "spam"); break;
      case "r":
        if (form) { event.preventDefault(); form.querySelector("select[name=reason]").focus(); }
        break;
      case "o": if (card) window.location = card.querySelector("h2 a").href; break;
      default: return;
    }
  });

  document.addEventListener("focusin", (event) => {
    const card = event.target.closest && event.target.closest("#queue article.item");
    if (card && card.dataset.id !== currentId) {
      items().forEach((i) => i.classList.remove("current"));
      card.classList.add("current");
      currentId = card.dataset.id;
      claim(card);
    }
  });

  async function poll() {
    const queue = document.getElementById("queue");
    if (!queue || !queue.dataset.poll) return;
    // Never swap the list under a moderator who is typing a note or choosing a reason.
    const active = document.activeElement;
    if (active && queue.contains(active) && ["INPUT", "SELECT", "TEXTAREA"].includes(active.tagName)) return;
    const resp = await fetch(queue.dataset.poll, { headers: { Accept: "text/html" } });
    if (!resp.ok) return;
    const keepFocus = active && queue.contains(active);
    queue.innerHTML = await resp.text();
    const again = current();
    if (again) { again.classList.add("current"); if (keepFocus) again.focus(); }
  }

  setInterval(poll, POLL_MS);
})();
