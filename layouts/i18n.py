"""Labels of the dashboards in English and French, and locale-aware number and date formats.

The locale comes from the verified token (``Scope.locale``); numbers and dates
go through babel so a French viewer reads ``1 234,5`` and ``31 octobre 2026``.
The texts live here; which metric and dimension labels must exist, and how
each metric's value is written, come from ``app.catalog`` (a test checks that
every catalog entry has its label in each locale).
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

from babel import Locale
from babel.dates import format_date as _format_date, get_day_names
from babel.numbers import NumberPattern, parse_pattern

from app import catalog

LOCALES = ("en", "fr")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "overview.title": "Learning overview",
        "explore.title": "Explore",
        "data_as_of": "Data as of {date}",
        "timezone": "{name}: days and hours in the {zone} time zone",
        "unknown": "Unknown",
        "metric.connections": "Connections",
        "metric.active_learners": "Active learners",
        "metric.enrolments": "Enrolments",
        "metric.starts": "Starts",
        "metric.completions": "Completions",
        "metric.completion_rate": "Completion rate",
        "metric.avg_score": "Average score",
        "metric.learning_hours": "Learning hours",
        "metric.assignments_due": "Assignments due",
        "metric.completed_on_time": "Completed on time",
        "metric.completed_late": "Completed late",
        "metric.overdue": "Overdue",
        "metric.on_time_rate": "On-time rate",
        "metric.due_soon": "Due soon",
        "metric.at_risk_learners": "At-risk learners",
        "dim.group": "Group",
        "dim.country": "Country",
        "dim.training": "Training",
        "dim.category": "Category",
        "dim.format": "Format",
        "dim.period": "Period",
        "dim.key": "Key",
        "tenant": "Tenant",
        "range": "Period",
        "preset.7d": "Last 7 days",
        "preset.30d": "Last 30 days",
        "preset.90d": "Last 90 days",
        "preset.12m": "Last 12 months",
        "preset.ytd": "Year to date",
        "preset.custom": "Custom",
        "gran": "Granularity",
        "gran.auto": "Auto",
        "gran.day": "Day",
        "gran.week": "Week",
        "gran.month": "Month",
        "metric": "Metric",
        "by": "Breakdown",
        "chart": "Chart",
        "chart.bar": "Bar",
        "chart.line": "Line over time",
        "chart.pie": "Pie",
        "all": "All",
        "locked": "Locked",
        "locked.title": "Set by your organisation: this filter cannot be changed here",
        "change.vs_previous": "vs previous {days} days",
        "change.no_previous": "no data in the previous period",
        "change.points": "{value} pts",
        "na": "n/a",
        "table.item": "Item",
        "table.value": "Value",
        "table.of": "Data of the chart: {title}",
        "na.connections": "not tracked per training",
        "chart.activity": "Connections and active learners",
        "chart.funnel": "Enrolment → start → completion",
        "chart.trainings": "Completions by training (top 10)",
        "chart.groups": "Completion rate by group",
        "chart.overdue_groups": "Overdue assignments by group",
        "chart.overdue_trainings": "Overdue assignments by training",
        "overview.compliance": "Assignments and compliance",
        "chart.heatmap": "Connections by weekday and local hour",
        "explore.by": "{metric} by {dim}",
        "explore.over_time": "{metric} over time",
        "empty.range": "No activity between {start} and {end}.",
        "empty.unknown": "Unknown {dim}: {values}. Nothing matches it.",
        "empty.training_filter": "Connections are not tracked per training: clear the training, category and format "
                                 "filters to see them.",
        "empty.pie_rate": "A pie chart needs a count: pick a count metric or another chart type.",
        "empty.no_rows": "No rows for this choice.",
        "error.chart": "This chart could not be drawn. The rest of the page is up to date.",
        "error.auth": "Your access could not be verified ({detail}). Reload the page from your learning platform.",
        "error.tenant": "There is no data for this organisation yet.",
        "error.range": "This date range cannot be shown: {detail}.",
        "error.unavailable": "No data is published yet. Please try again later.",
        "filters.active": "Filters:",
        "filters.none": "No filter: click a bar or a slice to add one.",
        "filters.remove": "Remove this filter",
        "csv": "Download CSV",
        "page.not_found": "This page does not exist.",
        "dates": "Dates",
        "dates.start": "Start date",
        "dates.end": "End date",
        "table.show": "Show the data as a table",
        "table.region": "Chart data",
        "learners.open": "See the learners",
        "learners.title": "Learners",
        "learners.table": "Table: {title}",
        "learners.cohort.active": "Active learners",
        "learners.cohort.connected": "Learners who connected",
        "learners.cohort.enrolled": "Learners who enrolled",
        "learners.cohort.started": "Learners who started a training",
        "learners.cohort.completed": "Learners who completed a training",
        "learners.cohort.not_completed": "Learners who have not completed",
        "learners.cohort.overdue": "Learners with an overdue assignment",
        "learners.cohort.at_risk": "Learners at risk",
        "learners.cohort.due_soon": "Learners with an assignment due soon",
        "learners.cohort.due": "Learners with an assignment due in the period",
        "learners.no_assignments": "This organisation assigns no trainings: there is no such list.",
        "learners.summary": "{count} learners · page {page} · {period}",
        "learners.period": "{start} – {end}",
        "learners.period.as_of": "at the end of {as_of}, all due dates · activity {start} – {end}",
        "learners.period.due": "due {start} – {end} · status at the end of {as_of}",
        "learners.csv": "Export CSV",
        "learners.xlsx": "Export XLSX",
        "learners.close": "Close",
        "learners.close.title": "Close the learner list (Escape)",
        "learners.back": "Back to the list",
        "learners.prev": "Previous page",
        "learners.next": "Next page",
        "learners.pager": "Pages of the learner list",
        "learners.none": "No learner in this list for the current range and filters.",
        "learners.unknown": "This learner is not in the current view.",
        "learners.error": "The learner list could not be loaded.",
        "learners.col.name": "Name",
        "learners.col.user_id": "Learner id",
        "learners.col.starts": "Starts",
        "learners.col.avg_score": "Average score",
        "learners.explore.summary": "{cohort}: {count} learners · {period}",
        "learners.explore.capped": "{cohort}: {count} learners · {period} · the {shown} most recently active shown",
        "learners.col.group": "Group",
        "learners.col.country": "Country",
        "learners.col.enrolments": "Enrolments",
        "learners.col.completions": "Completions",
        "learners.col.last_activity": "Last activity",
        "learners.col.title": "Training",
        "learners.col.status": "Status",
        "learners.col.enrolled_on": "Enrolled on",
        "learners.col.started_on": "Started on",
        "learners.col.completed_on": "Completed on",
        "learners.col.score": "Score",
        "learners.col.learning_hours": "Learning hours",
        "learners.status.completed": "Completed",
        "learners.status.in_progress": "In progress",
        "learners.status.not_started": "Not started",
        "learners.status.overdue": "overdue",
        "learners.col.due_on": "Due on",
        "learners.trainings.open": "See this learner's trainings",
        "learners.trainings.of": "Trainings of {name}",
        "learners.trainings.none": "No training for this learner under the current filters.",
        "learners.trainings.summary": "One learner's trainings: statuses, due dates and first dates (all dates)",
        "learners.drill": "{cohort} — {point}",
        "period.week": "week of {day}",
        "learners.drill.open": "See the learners behind this value",
        "learners.grid.open": "A row (a click, or Enter) opens that learner's trainings below the table.",
        "learners.trainings.close": "Close this learner's trainings",
        "learners.trainings.region": "The chosen learner's trainings",
        "learners.drill.outside": "What was clicked is outside the current range or filters: no learner to show.",
    },
    "fr": {
        "overview.title": "Vue d’ensemble de la formation",
        "explore.title": "Explorer",
        "data_as_of": "Données au {date}",
        "timezone": "{name} : jours et heures du fuseau {zone}",
        "unknown": "Inconnu",
        "metric.connections": "Connexions",
        "metric.active_learners": "Apprenants actifs",
        "metric.enrolments": "Inscriptions",
        "metric.starts": "Démarrages",
        "metric.completions": "Achèvements",
        "metric.completion_rate": "Taux d’achèvement",
        "metric.avg_score": "Score moyen",
        "metric.learning_hours": "Heures de formation",
        "metric.assignments_due": "Assignations échues",
        "metric.completed_on_time": "Terminées à temps",
        "metric.completed_late": "Terminées en retard",
        "metric.overdue": "En retard",
        "metric.on_time_rate": "Taux de respect des échéances",
        "metric.due_soon": "Échéance proche",
        "metric.at_risk_learners": "Apprenants à risque",
        "dim.group": "Groupe",
        "dim.country": "Pays",
        "dim.training": "Formation",
        "dim.category": "Catégorie",
        "dim.format": "Format",
        "dim.period": "Période",
        "dim.key": "Code",
        "tenant": "Organisation",
        "range": "Période",
        "preset.7d": "7 derniers jours",
        "preset.30d": "30 derniers jours",
        "preset.90d": "90 derniers jours",
        "preset.12m": "12 derniers mois",
        "preset.ytd": "Depuis le 1er janvier",
        "preset.custom": "Personnalisée",
        "gran": "Granularité",
        "gran.auto": "Auto",
        "gran.day": "Jour",
        "gran.week": "Semaine",
        "gran.month": "Mois",
        "metric": "Indicateur",
        "by": "Répartition",
        "chart": "Graphique",
        "chart.bar": "Barres",
        "chart.line": "Courbe dans le temps",
        "chart.pie": "Secteurs",
        "all": "Tous",
        "locked": "Verrouillé",
        "locked.title": "Fixé par votre organisation : ce filtre ne peut pas être modifié ici",
        "change.vs_previous": "vs les {days} jours précédents",
        "change.no_previous": "aucune donnée sur la période précédente",
        "change.points": "{value} pts",
        "na": "n/d",
        "table.item": "Élément",
        "table.value": "Valeur",
        "table.of": "Données du graphique : {title}",
        "na.connections": "non suivies par formation",
        "chart.activity": "Connexions et apprenants actifs",
        "chart.funnel": "Inscription → démarrage → achèvement",
        "chart.trainings": "Achèvements par formation (top 10)",
        "chart.groups": "Taux d’achèvement par groupe",
        "chart.overdue_groups": "Assignations en retard par groupe",
        "chart.overdue_trainings": "Assignations en retard par formation",
        "overview.compliance": "Assignations et conformité",
        "chart.heatmap": "Connexions par jour et heure locale",
        "explore.by": "{metric} par {dim}",
        "explore.over_time": "{metric} dans le temps",
        "empty.range": "Aucune activité entre le {start} et le {end}.",
        "empty.unknown": "{dim} inconnu : {values}. Rien ne correspond.",
        "empty.training_filter": "Les connexions ne sont pas suivies par formation : retirez les filtres formation, "
                                 "catégorie et format pour les voir.",
        "empty.pie_rate": "Un graphique en secteurs demande un comptage : choisissez un indicateur de comptage ou un "
                          "autre graphique.",
        "empty.no_rows": "Aucune ligne pour ce choix.",
        "error.chart": "Ce graphique n’a pas pu être dessiné. Le reste de la page est à jour.",
        "error.auth": "Votre accès n’a pas pu être vérifié ({detail}). Rechargez la page depuis votre plateforme de "
                      "formation.",
        "error.tenant": "Il n’y a pas encore de données pour cette organisation.",
        "error.range": "Cette période ne peut pas être affichée : {detail}.",
        "error.unavailable": "Aucune donnée n’est encore publiée. Réessayez plus tard.",
        "filters.active": "Filtres :",
        "filters.none": "Aucun filtre : cliquez sur une barre ou un secteur pour en ajouter un.",
        "filters.remove": "Retirer ce filtre",
        "csv": "Télécharger en CSV",
        "page.not_found": "Cette page n’existe pas.",
        "dates": "Dates",
        "dates.start": "Date de début",
        "dates.end": "Date de fin",
        "table.show": "Afficher les données en tableau",
        "table.region": "Données du graphique",
        "learners.open": "Voir les apprenants",
        "learners.title": "Apprenants",
        "learners.table": "Tableau : {title}",
        "learners.cohort.active": "Apprenants actifs",
        "learners.cohort.connected": "Apprenants qui se sont connectés",
        "learners.cohort.enrolled": "Apprenants inscrits",
        "learners.cohort.started": "Apprenants qui ont commencé une formation",
        "learners.cohort.completed": "Apprenants qui ont terminé une formation",
        "learners.cohort.not_completed": "Apprenants qui n’ont pas terminé",
        "learners.cohort.overdue": "Apprenants avec une assignation en retard",
        "learners.cohort.at_risk": "Apprenants à risque",
        "learners.cohort.due_soon": "Apprenants avec une échéance proche",
        "learners.cohort.due": "Apprenants avec une assignation échue sur la période",
        "learners.no_assignments": "Cette organisation n’assigne aucune formation : cette liste n’existe pas.",
        "learners.summary": "{count} apprenants · page {page} · {period}",
        "learners.period": "{start} – {end}",
        "learners.period.as_of": "à la fin du {as_of}, toutes échéances · activité {start} – {end}",
        "learners.period.due": "échéance {start} – {end} · statut à la fin du {as_of}",
        "learners.csv": "Exporter en CSV",
        "learners.xlsx": "Exporter en XLSX",
        "learners.close": "Fermer",
        "learners.close.title": "Fermer la liste des apprenants (Échap)",
        "learners.back": "Retour à la liste",
        "learners.prev": "Page précédente",
        "learners.next": "Page suivante",
        "learners.pager": "Pages de la liste des apprenants",
        "learners.none": "Aucun apprenant dans cette liste pour la période et les filtres choisis.",
        "learners.unknown": "Cet apprenant n’est pas dans la vue actuelle.",
        "learners.error": "La liste des apprenants n’a pas pu être chargée.",
        "learners.col.name": "Nom",
        "learners.col.user_id": "Identifiant",
        "learners.col.starts": "Démarrages",
        "learners.col.avg_score": "Score moyen",
        "learners.explore.summary": "{cohort} : {count} apprenants · {period}",
        "learners.explore.capped": "{cohort} : {count} apprenants · {period} · les {shown} plus récemment actifs affichés",
        "learners.col.group": "Groupe",
        "learners.col.country": "Pays",
        "learners.col.enrolments": "Inscriptions",
        "learners.col.completions": "Formations terminées",
        "learners.col.last_activity": "Dernière activité",
        "learners.col.title": "Formation",
        "learners.col.status": "Statut",
        "learners.col.enrolled_on": "Inscrit le",
        "learners.col.started_on": "Commencée le",
        "learners.col.completed_on": "Terminée le",
        "learners.col.score": "Score",
        "learners.col.learning_hours": "Heures de formation",
        "learners.status.completed": "Terminée",
        "learners.status.in_progress": "En cours",
        "learners.status.not_started": "Pas commencée",
        "learners.status.overdue": "en retard",
        "learners.col.due_on": "Échéance",
        "learners.trainings.open": "Voir les formations de cet apprenant",
        "learners.trainings.of": "Formations de {name}",
        "learners.trainings.none": "Aucune formation pour cet apprenant avec les filtres choisis.",
        "learners.trainings.summary": "Les formations d’un apprenant : statuts, échéances et premières dates (toutes dates)",
        "learners.drill": "{cohort} — {point}",
        "period.week": "semaine du {day}",
        "learners.drill.open": "Voir les apprenants derrière cette valeur",
        "learners.grid.open": "Une ligne (un clic, ou Entrée) ouvre les formations de cet apprenant sous le tableau.",
        "learners.trainings.close": "Fermer les formations de cet apprenant",
        "learners.trainings.region": "Les formations de l’apprenant choisi",
        "learners.drill.outside": "Ce qui a été cliqué est hors de la période ou des filtres actuels : aucun apprenant à afficher.",
    },
}


DROPDOWN_LABELS = {  # Dash 4 dropdowns' own texts (English is their default)
    "fr": {"select_all": "Tout sélectionner", "deselect_all": "Tout désélectionner",
           "selected_count": "{num_selected} sélectionnés", "search": "Rechercher",
           "clear_search": "Effacer la recherche", "clear_selection": "Effacer la sélection",
           "no_options_found": "Aucune option"},
}


# AG Grid's own texts that its grids here can show or announce (sortable columns; no filter, menu or selection),
# from AG_GRID_LOCALE_FR of the npm package @ag-grid-community/locale 35.3.1, the grid's version. English is
# the grid's default.
GRID_TEXTS = {
    "fr": {"noRowsToShow": "Aucune ligne à afficher", "loadingOoo": "Chargement...",
           "ariaSortableColumn": "Appuyez sur ENTER pour trier", "ariaColumn": "Colonne",
           "sortAscending": "Trier par ordre croissant", "sortDescending": "Trier par ordre décroissant",
           "sortUnSort": "Effacer le tri"},
}


def grid_texts(locale: str) -> dict:
    """A grid's ``localeText`` in ``locale`` (none for English, the grid's own)."""
    return GRID_TEXTS.get(locale, {})


def dropdown_labels(locale: str) -> dict:
    """Keyword arguments for a dcc.Dropdown in ``locale`` (none for English: a None prop would erase the defaults)."""
    return {"labels": DROPDOWN_LABELS[locale]} if locale in DROPDOWN_LABELS else {}


def t(locale: str, key: str, **values) -> str:
    """The label ``key`` in ``locale`` (English when missing), with ``values`` filled in."""
    text = LABELS.get(locale, LABELS["en"]).get(key) or LABELS["en"][key]
    return text.format(**values) if values else text


@lru_cache(maxsize=64)
def _number_pattern(locale: str, digits: int, percent: bool) -> tuple[NumberPattern, Locale]:
    """Babel's pattern for a number (or a share) with ``digits`` decimals in ``locale``, parsed once: babel's
    ``format_decimal`` parses it on every call, two thirds of its time (a daily table has thousands of cells)."""
    babel_locale = Locale.parse(locale)
    decimals = "0" * digits
    if percent:
        head, _, tail = babel_locale.percent_formats[None].pattern.rpartition("0")
        return parse_pattern(f"{head}0{'.' if digits else ''}{decimals}{tail}"), babel_locale
    return parse_pattern("#,##0" + (f".{decimals}" if digits else "")), babel_locale


def number(value: float | int | None, locale: str, digits: int = 0) -> str:
    if value is None:
        return t(locale, "na")
    pattern, babel_locale = _number_pattern(locale, digits, False)
    return pattern.apply(value, babel_locale)


def percent(value: float | None, locale: str, digits: int = 1) -> str:
    if value is None:
        return t(locale, "na")
    pattern, babel_locale = _number_pattern(locale, digits, True)
    return pattern.apply(value, babel_locale)


def data_label(label: str, locale: str) -> str:
    """A label from the data as a page in ``locale`` shows it: the LMS's own text, but the snapshot's
    ``Unknown`` (an empty or missing value) in the page's language. Filters still take the key."""
    return t(locale, "unknown") if label == catalog.UNKNOWN else label


def metric_label(locale: str, metric: str) -> str:
    return t(locale, catalog.METRIC[metric].label_key)


def dimension_label(locale: str, dimension: str) -> str:
    return t(locale, catalog.DIMENSION[dimension].label_key)


def metric_value(metric: str, value, locale: str) -> str:
    """A metric as a KPI card shows it, in its catalog number format."""
    fmt = catalog.METRIC[metric].number_format
    if fmt == catalog.PERCENT:
        return percent(value, locale)
    return number(value, locale, 1 if fmt == catalog.DECIMAL else 0)


def date(value: dt.date, locale: str, style: str = "long") -> str:
    return _format_date(value, format=style, locale=locale)


@lru_cache(maxsize=16384)
def period(start: str, granularity: str, locale: str) -> str:
    """A time series' period, named as a reader says it: its day ("Aug 3, 2026"), its week ("week of
    Aug 3, 2026") or its month ("August 2026"), from its first day (ISO text). Kept once made: a daily table
    over three years names 1,100 days, about 30 ms of babel per answer otherwise."""
    day = dt.date.fromisoformat(str(start)[:10])
    if granularity == "week":
        return t(locale, "period.week", day=date(day, locale, "medium"))
    if granularity == "month":
        return date(day, locale, "LLLL y")
    return date(day, locale, "medium")


def weekdays(locale: str) -> list[str]:
    """Abbreviated weekday names, Monday first (babel's 0 is Monday)."""
    names = get_day_names("abbreviated", locale=locale)
    return [names[i] for i in range(7)]
