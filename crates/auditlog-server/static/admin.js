// auditlog administration: small progressive enhancements. The pages work
// without this script; it only adds local times, auto-submitting selects,
// the copy button, the cursor at a query error and the "/" shortcut.
"use strict";

(function () {
  function localTimes() {
    var format;
    try {
      format = new Intl.DateTimeFormat(undefined, {
        year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit",
        hour12: false, timeZoneName: "short"
      });
    } catch (e) {
      return;
    }
    document.querySelectorAll("time.local").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when.getTime())) {
        // The UTC text stays in the title (shown on hover).
        el.textContent = format.format(when);
        el.classList.add("localised");
      }
    });
  }

  function autoSubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form) {
          select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
        }
      });
    });
  }

  function copyButtons() {
    document.querySelectorAll("button[data-copy-target]").forEach(function (button) {
      var target = document.getElementById(button.getAttribute("data-copy-target"));
      var status = document.getElementById("copy-status");
      if (!target) {
        return;
      }
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = target.textContent;
        var done = function (message) {
          if (status) {
            status.textContent = message;
          }
        };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(text).then(
            function () { done("Copied."); },
            function () { selectText(target); done("Selected: press Ctrl+C to copy."); }
          );
        } else {
          selectText(target);
          done("Selected: press Ctrl+C to copy.");
        }
      });
    });
  }

  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function queryError() {
    var input = document.querySelector("input[data-error-position]");
    if (!input) {
      return;
    }
    var at = parseInt(input.getAttribute("data-error-position"), 10);
    input.focus();
    if (!isNaN(at)) {
      input.setSelectionRange(at, at);
    }
  }

  function slashFocusesSearch() {
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
      if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
        var q = document.getElementById("q");
        if (q) {
          event.preventDefault();
          q.focus();
          q.select();
        }
      }
    });
  }

  function start() {
    localTimes();
    autoSubmit();
    copyButtons();
    queryError();
    slashFocusesSearch();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
