/* What a cell of explore's learner grid shows (layouts/learners.py grid_columns): a day in the page's language,
   as the learner panel's tables write it ("Oct 31, 2026", "31 oct. 2026"). The row keeps the ISO day, so the
   grid still sorts the column as dates and the files keep ISO. dash-ag-grid reads its "function" strings with
   its own parser and finds these in window.dashAgGridFunctions (no eval: the page's CSP has no unsafe-eval). */
(function () {
  "use strict";
  var functions = window.dashAgGridFunctions = window.dashAgGridFunctions || {};
  var formats = {};

  functions.localDay = function (value, locale) {
    if (value === null || value === undefined) return "";
    if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return String(value);
    var format = formats[locale] || (formats[locale] = new Intl.DateTimeFormat(locale, {
      day: "numeric", month: "short", year: "numeric", timeZone: "UTC"}));
    return format.format(new Date(value + "T00:00:00Z"));
  };
})();
