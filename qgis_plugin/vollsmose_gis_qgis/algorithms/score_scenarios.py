"""Score district-plan scenarios: apply each, run the modules, rank them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMultipleLayers,
)

from vollsmose_gis import default_district, load_district
from vollsmose_gis.job import run_job
from vollsmose_gis.scenario import load_scenarios
from vollsmose_gis.scoring import MODULES, load_profile

from .._compat import QgsProcessingException
from ..feedback import library_call, progress_callback
from .base import VollsmoseAlgorithm

__all__ = ["ScoreScenariosAlgorithm"]


class ScoreScenariosAlgorithm(VollsmoseAlgorithm):
    """Apply scenario files to a base district, score and rank them."""

    NAME = "scorescenarios"
    DISPLAY_NAME = "Score scenarios"
    GROUP = "Scenarios"
    GROUP_ID = "scenarios"
    ICON = "score.svg"
    HELP = (
        "Which plan does most for the district? Applies each scenario file (a YAML list "
        "of interventions: new streets and paths, demolitions, new buildings, tenure "
        "conversions, lamps, cameras, calming, speed limits…) to the base district, runs "
        "the analyses, turns every indicator into a 0–100 score, rolls them up into the "
        "four themes — connected district, mixed housing, mixed use and jobs, safety "
        "and security — and an overall score, and ranks the scenarios. Cost (DKK) is "
        "reported beside the score, not in it. P(first) says how often a scenario "
        "ranks first when the theme weights vary: a robust ranking is near 1.\n\n"
        "Outputs: the ranking table, the indicator table (value, score and change "
        "against the baseline per scenario), and a folder with scores.csv, "
        "indicators.csv, changes.csv, one GeoPackage (district and result layers) and "
        "the rasters per scenario, and manifest.json; and the council report (HTML) with "
        "the ranking, charts, maps before and after, method and provenance."
    )
    SCENARIOS = "SCENARIOS"
    DISTRICT = "DISTRICT"
    PROFILE = "PROFILE"
    MODULES = "MODULES"
    SCORES = "SCORES"
    INDICATORS = "INDICATORS"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    RANKING = "RANKING"
    REPORT = "REPORT"
    LANGUAGE = "LANGUAGE"
    LANGUAGES = ("en", "da")

    def initAlgorithm(self, configuration: Any = None) -> None:
        scenarios = QgsProcessingParameterMultipleLayers(
            self.SCENARIOS, self.tr("Scenario files (YAML)"), QgsProcessing.TypeFile
        )
        scenarios.setHelp(self.tr("One or more .yaml scenario files (see scenarios/)."))
        self.addParameter(scenarios)
        district = QgsProcessingParameterFile(
            self.DISTRICT,
            self.tr("Base district GeoPackage (empty: the embedded Vollsmose model)"),
            extension="gpkg",
            optional=True,
        )
        district.setHelp(
            self.tr(
                "A district GeoPackage (from 'Import OpenStreetMap file' or the command "
                "line). Scenarios naming their own base district use that one."
            )
        )
        self.addParameter(district)
        self.addParameter(
            QgsProcessingParameterEnum(
                self.MODULES,
                self.tr("Analyses to run"),
                options=list(MODULES),
                allowMultiple=True,
                defaultValue=list(range(len(MODULES))),
            )
        )
        self.advanced(
            QgsProcessingParameterFile(
                self.PROFILE,
                self.tr("Scoring profile, YAML (empty: the packaged profile)"),
                extension="yaml",
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.LANGUAGE,
                self.tr("Language of the council report"),
                options=[self.tr("English"), self.tr("Danish")],
                defaultValue=0,
            )
        )
        self.add_sink(self.SCORES, "Scenario ranking (table)", QgsProcessing.TypeVector)
        self.add_sink(self.INDICATORS, "Indicators per scenario (table)", QgsProcessing.TypeVector)
        self.addParameter(
            QgsProcessingParameterFolderDestination(
                self.OUTPUT_FOLDER,
                self.tr("Folder for tables, GeoPackages and rasters per scenario"),
            )
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(
                self.REPORT, self.tr("Council report (HTML)"), fileFilter="HTML (*.html)"
            )
        )
        self.addOutput(QgsProcessingOutputString(self.RANKING, self.tr("Ranking")))
        self.addOutput(QgsProcessingOutputString(self.PROVENANCE, self.tr("Provenance")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:
        feedback = feedback or QgsProcessingFeedback()
        files = self.parameterAsFileList(parameters, self.SCENARIOS, context)
        if not files:
            raise QgsProcessingException("Scenario files: choose at least one .yaml file.")
        district_path = self.parameterAsFile(parameters, self.DISTRICT, context)
        profile_path = self.parameterAsFile(parameters, self.PROFILE, context)
        names = list(MODULES)
        modules = [names[i] for i in self.parameterAsEnums(parameters, self.MODULES, context)]
        if not modules:
            raise QgsProcessingException("Analyses to run: choose at least one.")
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        with library_call(feedback):
            scenarios = load_scenarios([Path(f) for f in files])
            profile = load_profile(profile_path or None)
            base = load_district(district_path) if district_path else default_district()
            self.announce(base, feedback)
            # the library's main job: scores, tables, GeoPackages, rasters, maps, report
            job = run_job(
                scenarios,
                folder,
                district=base,
                district_path=Path(district_path) if district_path else None,
                profile=profile,
                modules=modules,
                overwrite=True,
                lang=self.LANGUAGES[self.parameterAsEnum(parameters, self.LANGUAGE, context)],
                progress=progress_callback(feedback, 0, 100),
            )
            result = job.result
            report = self.parameterAsFileOutput(parameters, self.REPORT, context)
            if report and Path(report).resolve() != (Path(folder) / "report.html").resolve():
                shutil.copyfile(Path(folder) / "report.html", report)
        for message in job.warnings:
            feedback.reportError(f"warning: {message}", fatalError=False)
        for note in result.notes:
            feedback.pushInfo(f"note: {note}")
        feedback.pushInfo(
            f"Wrote {len(job.written)} files (maps and report included) to {folder}; "
            f"the report also to {report}"
        )
        ranking = "; ".join(
            f"{row.rank}. {row.scenario} ({row.overall:.1f})" for row in result.scores.itertuples()
        )
        feedback.pushInfo(f"Ranking: {ranking}")
        return {
            self.SCORES: self.write_frame(
                result.scores, parameters, self.SCORES, context, crs=None
            ),
            self.INDICATORS: self.write_frame(
                result.indicators, parameters, self.INDICATORS, context, crs=None
            ),
            self.OUTPUT_FOLDER: folder,
            self.REPORT: report,
            self.RANKING: ranking,
            self.PROVENANCE: self._provenance,
        }
