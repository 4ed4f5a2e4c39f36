// Confirm dialogs for actions that cannot be undone (cancel, reject, discard): a form with
// data-confirm="..." (or a submit button with it) asks first, in a <dialog>. Without JavaScript the
// form still posts; the server checks everything either way.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var dialog = document.getElementById("confirm-dialog");
  if (!dialog || typeof dialog.showModal !== "function") { return; }
  var text = document.getElementById("confirm-text");
  var yes = document.getElementById("confirm-yes");
  var no = document.getElementById("confirm-no");
  var yesLabel = yes.textContent;
  var pending = null;
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      // The form asks (data-confirm on the form), or only one of its buttons does.
      var asker = event.submitter && event.submitter.dataset.confirm ? event.submitter : form;
      if (!asker.dataset.confirm || form.dataset.confirmed === "1") { return; }
      if (!form.reportValidity()) { return; }
      event.preventDefault();
      pending = { form: form, submitter: event.submitter || null };
      text.textContent = asker.dataset.confirm;
      yes.textContent = asker.dataset.yes || yesLabel;
      dialog.showModal();
      no.focus();
    });
  });
  no.addEventListener("click", function () {
    pending = null;
    dialog.close();
  });
  yes.addEventListener("click", function () {
    dialog.close();
    if (!pending) { return; }
    var form = pending.form;
    form.dataset.confirmed = "1";
    if (typeof form.requestSubmit === "function") { form.requestSubmit(pending.submitter); } else { form.submit(); }
  });
});
