"""Follow-up: the area's statistics year by year against the government's criteria."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputFile,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMultipleLayers,
)

from vollsmose_gis import followup, load_district
from vollsmose_gis._errors import InputError
from vollsmose_gis.followup_report import write_followup

from ..feedback import library_call
from .base import VollsmoseAlgorithm

__all__ = ["FollowUpAlgorithm"]


class FollowUpAlgorithm(VollsmoseAlgorithm):
    """Statistics table (+ district snapshots) -> criteria, lists, goals, charts, report."""

    NAME = "followup"
    DISPLAY_NAME = "Follow-up of the area's goals"
    GROUP = "Follow-up"
    GROUP_ID = "followup"
    ICON = "score.svg"
    HELP = (
        "Follows an area year by year, as the council's committee does: reads area "
        "statistics by year (one row per area and year: non-Western share, 18–64 outside "
        "work or education, convictions per 10,000 adults, basic schooling, income against "
        "the region's, and optionally safety survey and incidents; aggregates only), "
        "evaluates every criteria set in force each year (the 2010, 2013 and 2018 lists "
        "and almenboligloven § 61 a / § 61 b) with the multi-year means the law "
        "prescribes, says which list the area is on and for how many years, what would "
        "take it off, and how each goal stands (robust trend, no extrapolation beyond "
        "5 years). District snapshots (GeoPackages named with their year) give the "
        "physical indicators over time.\n\nWithout a statistics file the embedded "
        "Vollsmose example is used: only its 2012 criterion values are real, the rest "
        "is ILLUSTRATIVE and every output says so.\n\nOutputs: the status table, the "
        "long table (monitor.csv), charts and the committee report (followup.html)."
    )
    STATISTICS = "STATISTICS"
    SNAPSHOTS = "SNAPSHOTS"
    LANGUAGE = "LANGUAGE"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    STATUS = "STATUS"
    REPORT = "REPORT"
    SUMMARY = "SUMMARY"
    LANGUAGES = ("en", "da")

    def initAlgorithm(self, configuration: Any = None) -> None:
        self.addParameter(
            QgsProcessingParameterFile(
                self.STATISTICS,
                self.tr("Area statistics by year (CSV; empty: the embedded example)"),
                extension="csv",
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterMultipleLayers(
                self.SNAPSHOTS,
                self.tr("District snapshots (GeoPackages named with their year)"),
                QgsProcessing.TypeFile,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.LANGUAGE,
                self.tr("Language of the report"),
                options=[self.tr("English"), self.tr("Danish")],
                defaultValue=0,
            )
        )
        self.add_sink(self.STATUS, "Lists per area and year (table)", QgsProcessing.TypeVector)
        self.addParameter(
            QgsProcessingParameterFolderDestination(
                self.OUTPUT_FOLDER, self.tr("Folder for monitor.csv, charts and the report")
            )
        )
        self.addOutput(QgsProcessingOutputFile(self.REPORT, self.tr("Follow-up report (HTML)")))
        self.addOutput(QgsProcessingOutputString(self.SUMMARY, self.tr("Status this year")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:
        feedback = feedback or QgsProcessingFeedback()
        path = self.parameterAsFile(parameters, self.STATISTICS, context)
        snapshots = [f for f in self.parameterAsFileList(parameters, self.SNAPSHOTS, context) if f]
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        lang = self.LANGUAGES[self.parameterAsEnum(parameters, self.LANGUAGE, context)]
        with library_call(feedback):
            stats = followup.read_statistics(path) if path else followup.example_statistics()
            frames = {}
            for snapshot in snapshots:
                years = [
                    int(t)
                    for t in Path(snapshot).stem.replace("-", "_").split("_")
                    if t.isdigit() and len(t) == 4
                ]
                if not years:
                    raise InputError(f"{snapshot}: name a snapshot with its year (d_2019.gpkg)")
                frames[years[-1]] = load_district(snapshot)
            result = followup.monitor(stats, snapshots=frames)
            write_followup(result, folder, lang=lang, overwrite=True)
        if result.illustrative:
            feedback.pushWarning(
                "the statistics hold ILLUSTRATIVE rows (made up for the example), not statistics"
            )
        latest = result.status[result.status["year"] == result.status["year"].max()]
        on = latest[latest["on_list"] == True]  # noqa: E712 - a three-valued column
        summary = (
            "; ".join(f"{r.area_id}: {r.list} ({r.consecutive_years} y)" for r in on.itertuples())
            or "on no list"
        )
        feedback.pushInfo(f"Status: {summary}")
        return {
            self.STATUS: self.write_frame(
                result.status.astype({"on_list": "string"}),
                parameters,
                self.STATUS,
                context,
                crs=None,
            ),
            self.OUTPUT_FOLDER: folder,
            self.REPORT: str(Path(folder) / "followup.html"),
            self.SUMMARY: summary,
        }
