/* Repairs to the markup of Dash 4.4.1's own components, which Dataviz cannot change from Python
   (WCAG 2.1 AA; axe-core rules in brackets). Each repair is idempotent and re-applied whenever React
   re-renders the component (a MutationObserver), so the components keep working as Dash wrote them:
   - dcc.Dropdown: the tab stop is an aria-hidden <input> that hands focus to the real button
     [aria-hidden-focus]. The button becomes the tab stop, the hidden input leaves the tab order, and
     the button's name starts with its field's label ("Period: Last 30 days", not "Last 30 days").
   - dcc.RadioItems and the dropdowns' menus: a role="listbox" of <label role="option"> around native
     radio buttons or checkboxes [aria-allowed-role, nested-interactive]. The native inputs already say
     everything: the labels lose the option role, the list becomes a radiogroup (or a group of
     checkboxes) named by its field's visible label, and so does the popup around it [aria-dialog-name,
     aria-input-field-name].
   - dcc.DatePickerRange: a plain <div> wrapping both date inputs carries a button's attributes and an
     aria-labelledby naming ids that do not exist [aria-allowed-attr]: they are removed (each input
     keeps its own label, and the popup opens from the inputs themselves). */
(function () {
  "use strict";
  var uid = 0;

  function labelId(element) {
    if (!element.id) { uid += 1; element.id = "dv-label-" + uid; }
    return element.id;
  }

  function repairDropdown(proxy) {
    var button = proxy.nextElementSibling;
    if (proxy.tabIndex !== -1) proxy.tabIndex = -1;
    if (!button || !button.classList.contains("dash-dropdown")) return;
    var wanted = button.disabled ? -1 : 0;
    if (button.tabIndex !== wanted) button.tabIndex = wanted;
    var label = fieldLabel(proxy);
    var names = button.getAttribute("aria-labelledby") || "";
    if (label && names.split(" ")[0] !== labelId(label)) {
      button.setAttribute("aria-labelledby", labelId(label) + " " + names);
    }
  }

  function fieldLabel(element) {
    var field = element.closest(".field, .choice-group");
    return field && field.querySelector(".field-label > span, .choice-group > .field-label");
  }

  function nameBy(element, label) {
    if (label && element.getAttribute("aria-labelledby") !== labelId(label)) {
      element.setAttribute("aria-labelledby", labelId(label));
    }
  }

  function repairOptionsList(list, label) {
    var role = list.querySelector("input[type=checkbox]") ? "group" : "radiogroup";
    if (list.getAttribute("role") !== role) list.setAttribute("role", role);
    nameBy(list, label);
    list.querySelectorAll("[role=option], [aria-selected]").forEach(function (option) {
      option.removeAttribute("role");
      option.removeAttribute("aria-selected");
    });
  }

  function repairPopup(trigger) {
    var popup = trigger.getAttribute("aria-controls") && document.getElementById(trigger.getAttribute("aria-controls"));
    if (!popup) return;
    var label = fieldLabel(trigger);
    nameBy(popup, label);
    popup.querySelectorAll(".dash-options-list").forEach(function (list) { repairOptionsList(list, label); });
  }

  var PICKER_ATTRIBUTES = ["aria-haspopup", "aria-expanded", "aria-disabled", "aria-labelledby", "type"];

  function repairDatePicker(wrapper) {
    PICKER_ATTRIBUTES.forEach(function (name) {
      if (wrapper.hasAttribute(name)) wrapper.removeAttribute(name);
    });
  }

  function repair(root) {
    root.querySelectorAll(".dash-dropdown-focus-target").forEach(repairDropdown);
    root.querySelectorAll(".dash-radioitems").forEach(function (list) { repairOptionsList(list, fieldLabel(list)); });
    root.querySelectorAll(".dash-datepicker-input-wrapper").forEach(repairDatePicker);
    root.querySelectorAll(".dash-dropdown[aria-controls], .dash-datepicker-input-wrapper[aria-controls]")
      .forEach(repairPopup);
  }

  var scheduled = false;
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    Promise.resolve().then(function () { scheduled = false; repair(document); });
  }

  new MutationObserver(schedule).observe(document.documentElement, {
    subtree: true, childList: true, attributes: true,
    attributeFilter: ["tabindex", "role", "aria-selected", "aria-expanded", "aria-controls", "aria-labelledby",
                      "disabled"]
  });
  schedule();
})();
