/* Loa's static search: the shards (tim-kiem/<yyyy-mm>.js) added their articles to
   window.LOA_SEARCH, each with "w", its words folded (lower case, no tone or vowel marks, đ -> d).
   The query is folded the same way, so "thu tuc" finds "thủ tục" and "dang ky" finds "đăng ký".
   Every word of the query must start a word of the article; titles weigh more. No server. */
(function () {
  "use strict";
  function fold(s) {
    return s.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .replace(/\u0111/g, "d").replace(/[^0-9a-z]+/g, " ").trim();
  }
  var items = (window.LOA_SEARCH || []).map(function (e) {
    return { e: e, w: " " + e.w + " ", t: " " + fold(e.t) + " " };
  });
  var form = document.querySelector("form.search"), input = document.getElementById("q");
  var status = document.getElementById("search-status"), list = document.getElementById("search-results");
  function run(q) {
    var words = fold(q).split(" ").filter(Boolean);
    list.textContent = "";
    if (!words.length) { status.textContent = ""; return; }
    var hits = [];
    items.forEach(function (it) {
      var score = 0;
      for (var i = 0; i < words.length; i++) {
        if (it.w.indexOf(" " + words[i]) < 0) return;
        if (it.t.indexOf(" " + words[i]) >= 0) score += 2;
      }
      if (it.w.indexOf(" " + words.join(" ")) >= 0) score += 1;
      hits.push({ it: it, score: score });
    });
    hits.sort(function (a, b) { return b.score - a.score || (b.it.e.i < a.it.e.i ? -1 : 1); });
    status.textContent = hits.length ? "Tìm thấy " + hits.length + " bài cho “" + q + "”." : "Không tìm thấy bài nào cho “" + q + "”.";
    hits.slice(0, 50).forEach(function (h) {
      var e = h.it.e, li = document.createElement("li"), a = document.createElement("a"), p = document.createElement("p");
      li.className = "card";
      var box = document.createElement("div"), h2 = document.createElement("h2");
      a.href = "../" + e.u; a.textContent = e.t; h2.appendChild(a); box.appendChild(h2);
      p.className = "meta"; p.textContent = e.d; box.appendChild(p);
      if (e.s) { var s = document.createElement("p"); s.className = "summary"; s.textContent = e.s; box.appendChild(s); }
      li.appendChild(box); list.appendChild(li);
    });
  }
  var q = new URLSearchParams(window.location.search).get("q") || "";
  input.value = q;
  run(q);
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    run(input.value);
    history.replaceState(null, "", "?q=" + encodeURIComponent(input.value));
  });
})();
