// Progressive enhancement only: every page works without this file.
// j/k (or arrow keys) move between results, Enter opens, "/" focuses the search box.
(function () {
  const hits = Array.from(document.querySelectorAll(".hit"));
  let active = -1;
  function select(i) {
    if (!hits.length) return;
    active = Math.max(0, Math.min(hits.length - 1, i));
    hits.forEach((h, n) => h.classList.toggle("kb-active", n === active));
    hits[active].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", (event) => {
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
    if (event.key === "/" && !typing) {
      event.preventDefault();
      const box = document.querySelector(".searchbar input[type=search]");
      box.focus();
      box.select();
      return;
    }
    if (typing) return;
    if (event.key === "j" || event.key === "ArrowDown") { event.preventDefault(); select(active + 1); }
    if (event.key === "k" || event.key === "ArrowUp") { event.preventDefault(); select(active - 1); }
    if (event.key === "Enter" && active >= 0) {
      hits[active].querySelector("a.hit-title").click();
    }
  });
  // 加入培训包 on the brief page: added in place, the brief stays on screen.
  document.querySelectorAll("form[data-stay]").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const answer = await fetch(form.action, { method: "POST", body: new FormData(form) });
      const note = document.createElement("span");
      note.className = answer.ok ? "notice placed" : "notice error";
      note.setAttribute("role", "status");
      if (answer.ok) {
        const link = document.createElement("a");
        link.href = answer.url;
        link.textContent = "查看培训包";
        note.append("已加入 · ", link);
      } else {
        note.textContent = "未能加入培训包";
      }
      form.querySelector(".notice")?.remove();
      form.append(note);
    });
  });
  const focus = document.querySelector(".passage.focus");
  if (focus) focus.scrollIntoView({ block: "center" });
})();
