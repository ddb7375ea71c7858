/* The date picker in French on a French page (<html lang="fr">, set from the viewer's token).
   Dash 4.4.1's DatePickerRange formats months and weekdays with the date-fns locale it finds in
   window.dateFns.locale, matched against the browser's languages and falling back to the first one
   registered: registering only French on a French page makes it French whatever the browser says.
   Only what the calendar formats is defined (month and weekday names, the week starting on Monday);
   dates are typed as DD/MM/YYYY, numbers only, so no name is ever parsed (match finds nothing).
   Its buttons' names are written in English in Dash's code: they are translated here too. */
(function () {
  "use strict";
  if (document.documentElement.lang !== "fr") return;

  var MONTHS = {
    wide: ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"],
    abbreviated: ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
                  "déc."],
    narrow: ["J", "F", "M", "A", "M", "J", "J", "A", "S", "O", "N", "D"]
  };
  var DAYS = {
    wide: ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
    abbreviated: ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
    short: ["di", "lu", "ma", "me", "je", "ve", "sa"],
    narrow: ["D", "L", "M", "M", "J", "V", "S"]
  };
  function pick(names) {
    return function (index, options) { return (names[(options && options.width) || "wide"] || names.wide)[index]; };
  }
  function nothing() { return null; }
  var fr = {
    code: "fr",
    localize: {
      ordinalNumber: function (n) { return n === 1 ? "1er" : String(n); },
      era: function (n) { return n ? "ap. J.-C." : "av. J.-C."; },
      quarter: function (n) { return n + "e trim."; },
      month: pick(MONTHS),
      day: pick(DAYS),
      dayPeriod: function (period) { return period === "am" ? "AM" : "PM"; }
    },
    formatLong: {
      date: function () { return "dd/MM/y"; },
      time: function () { return "HH:mm"; },
      dateTime: function () { return "{{date}} {{time}}"; }
    },
    match: {ordinalNumber: nothing, era: nothing, quarter: nothing, month: nothing, day: nothing, dayPeriod: nothing},
    options: {weekStartsOn: 1, firstWeekContainsDate: 4}
  };
  window.dateFns = window.dateFns || {};
  window.dateFns.locale = {fr: fr};

  var NAMES = {"Previous month": "Mois précédent", "Next month": "Mois suivant", "Close calendar": "Fermer le calendrier",
               "Clear date": "Effacer la date", "Clear Dates": "Effacer les dates"};
  function translate() {
    document.querySelectorAll("[aria-label]").forEach(function (element) {
      var french = NAMES[element.getAttribute("aria-label")];
      if (french) element.setAttribute("aria-label", french);
    });
  }
  new MutationObserver(translate).observe(document.documentElement,
                                          {subtree: true, childList: true, attributes: true, attributeFilter: ["aria-label"]});
})();
