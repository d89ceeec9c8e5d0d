"""Housing and land-use mix: the § 168 a 40 % rule, diversity, land-use mix, walking access."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputBoolean,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from vollsmose_gis import analysis, mix
from vollsmose_gis.standards import load

from ..feedback import library_call, progress_callback
from .base import LayerInput, VollsmoseAlgorithm, indicators_frame
from .connectivity import parse_radii

__all__ = ["MixAlgorithm", "tenure_table"]


def tenure_table(account: mix.TenureAccount) -> pd.DataFrame:
    """The § 168 a accounting as rows of (item, value, note)."""
    rows: list[dict[str, Any]] = []
    for tenure, count in account.dwellings_by_tenure.items():
        rows.append({"item": f"dwellings_{tenure}", "value": float(count), "note": "inside"})
    for item in dataclasses.fields(account):
        value = getattr(account, item.name)
        if item.name == "dwellings_by_tenure":
            continue
        if isinstance(value, tuple | list):
            rows.append({"item": item.name, "value": float(len(value)), "note": ", ".join(value)})
        else:
            rows.append({"item": item.name, "value": float(value), "note": ""})
    return pd.DataFrame(rows, columns=["item", "value", "note"]).astype({"value": "float64"})


class MixAlgorithm(VollsmoseAlgorithm):
    """Tenure accounting, diversity, land-use mix and walking access of the homes."""

    NAME = "mix"
    DISPLAY_NAME = "Housing and land-use mix"
    GROUP = "Housing and land use"
    GROUP_ID = "mix"
    ICON = "mix.svg"
    HELP = (
        "How mixed is the district — in who lives there and in what happens there?\n"
        "• Housing: dwellings by tenure inside the study area and the § 168 a share of "
        "social (almen) family dwellings against the 40 % limit, with what each lever "
        "would take on its own (demolish, convert, build other tenures or commercial "
        "floor space); diversity of tenures and dwelling types per estate (Shannon, "
        "Simpson, Hill numbers).\n"
        "• Land use: entropy of the floor-area mix (0 = one use, 1 = even mix), "
        "non-residential floor share and jobs per dwelling, also on a grid.\n"
        "• Per home: the mix within a 400/800 m walk and the walking distance to the "
        "nearest shop, school, day care, health, stop, green space…\n\n"
        "Buildings need use and dwellings; tenure where known (empty tenure counts as "
        "unknown). § 168 a: almene family dwellings ÷ (all dwellings + commercial m² / "
        "75 + dwellings demolished since 2010)."
    )
    INPUTS = (
        LayerInput(
            "buildings",
            optional=False,
            fields=("building_id", "use", "dwellings", "tenure"),
            help="Homes and other buildings: use, dwellings, tenure, floor area, jobs.",
        ),
        LayerInput(
            "streets",
            optional=False,
            fields=("street_id",),
            help="The walking network for catchments and distances.",
        ),
        LayerInput("pois", fields=("poi_id", "kind"), help="Shops, schools, stops… for access."),
        LayerInput("landuse", fields=("use",), help="Land use (green space, squares…)."),
    )
    RADII = "RADII"
    THRESHOLD = "THRESHOLD"
    CELL_M = "CELL_M"
    HOMES = "HOMES"
    ESTATES = "ESTATES"
    GRID = "GRID"
    TENURE = "TENURE"
    INDICATORS = "INDICATORS"
    SHARE = "SHARE_168A"
    MEETS_RULE = "MEETS_RULE"

    def initAlgorithm(self, configuration: Any = None) -> None:
        params = load("mix")
        self.add_district_inputs()
        radii = QgsProcessingParameterString(
            self.RADII,
            self.tr("Walking catchment radii (m, comma-separated)"),
            defaultValue="400, 800",
        )
        radii.setHelp(self.tr("800 m is always included (the land-use mix indicator uses it)."))
        self.addParameter(radii)
        self.addParameter(
            QgsProcessingParameterNumber(
                self.THRESHOLD,
                self.tr("§ 168 a limit: share of social family dwellings (0–1)"),
                QgsProcessingParameterNumber.Double,
                defaultValue=float(params["rule_168a"]["threshold_share"]),
                minValue=0.0,
                maxValue=1.0,
            )
        )
        self.advanced(
            QgsProcessingParameterNumber(
                self.CELL_M,
                self.tr("Land-use grid cell size (m)"),
                QgsProcessingParameterNumber.Double,
                defaultValue=float(params["landuse"]["grid_cell_m"]),
                minValue=10.0,
            )
        )
        self.add_sink(
            self.HOMES,
            "Homes: catchment mix and distance to daily needs",
            QgsProcessing.TypeVectorPoint,
        )
        self.add_sink(
            self.ESTATES, "Estates: tenure and dwelling-type mix", QgsProcessing.TypeVectorPolygon
        )
        self.add_sink(self.GRID, "Land-use mix grid", QgsProcessing.TypeVectorPolygon)
        self.add_sink(self.TENURE, "§ 168 a tenure accounting (table)", QgsProcessing.TypeVector)
        self.add_sink(self.INDICATORS, "Mix indicators (table)", QgsProcessing.TypeVector)
        self.addOutput(QgsProcessingOutputNumber(self.SHARE, self.tr("§ 168 a share")))
        self.addOutput(QgsProcessingOutputBoolean(self.MEETS_RULE, self.tr("Meets § 168 a")))
        self.addOutput(QgsProcessingOutputString(self.PROVENANCE, self.tr("Provenance")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:
        feedback = feedback or QgsProcessingFeedback()
        radii = parse_radii(self.parameterAsString(parameters, self.RADII, context))
        district = self.read_district(parameters, context, feedback).district
        with library_call(feedback):
            # the module's one pipeline (tenure and § 168 a, land use, access)
            run_result = analysis.run(
                "mix",
                district,
                radii_m=tuple(radii) if radii else None,
                threshold=self.parameterAsDouble(parameters, self.THRESHOLD, context),
                cell_m=self.parameterAsDouble(parameters, self.CELL_M, context),
                progress=progress_callback(feedback, 5, 90),
            )
        result = run_result.extras["mix"]
        for message in run_result.warnings:
            feedback.pushWarning(message)
        account = result.tenure
        feedback.pushInfo(
            f"§ 168 a: {account.almen_family_dwellings} social family dwellings of "
            f"{account.denominator:.0f} counted = {account.share:.1%} "
            f"(limit {account.threshold:.0%}): "
            + ("meets the rule." if account.meets_rule else "does not meet the rule.")
        )
        crs = district.crs
        return {
            self.HOMES: self.write_frame(
                result.homes, parameters, self.HOMES, context, crs=crs, style="mix_homes"
            ),
            self.ESTATES: self.write_frame(
                result.estates,
                parameters,
                self.ESTATES,
                context,
                crs=crs,
                style="estates",
                default_geometry="MultiPolygon",
            ),
            self.GRID: self.write_frame(
                result.grid,
                parameters,
                self.GRID,
                context,
                crs=crs,
                style="landuse_grid",
                default_geometry="Polygon",
            ),
            self.TENURE: self.write_frame(
                tenure_table(account), parameters, self.TENURE, context, crs=None
            ),
            self.INDICATORS: self.write_frame(
                indicators_frame(result.indicators), parameters, self.INDICATORS, context, crs=None
            ),
            self.SHARE: float(account.share),
            self.MEETS_RULE: bool(account.meets_rule),
            self.PROVENANCE: self._provenance,
        }
