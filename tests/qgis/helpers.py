"""Running algorithms through Processing and comparing their outputs with the library's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely

PROVIDER = "vollsmosegis"


class RecordingFeedback:
    """A QgsProcessingFeedback that keeps what the algorithm reported."""

    def __new__(cls, cancel_at: float | None = None) -> Any:
        from qgis.core import QgsProcessingFeedback

        class _Feedback(QgsProcessingFeedback):
            def __init__(self) -> None:
                super().__init__()
                self.infos: list[str] = []
                self.warnings: list[str] = []
                self.progress_values: list[float] = []
                self.progressChanged.connect(self._progress)

            def _progress(self, value: float) -> None:
                self.progress_values.append(value)
                if cancel_at is not None and value >= cancel_at:
                    self.cancel()

            def pushInfo(self, text: str) -> None:
                self.infos.append(text)

            def pushWarning(self, text: str) -> None:
                self.warnings.append(text)

            @property
            def text(self) -> str:
                return "\n".join(self.infos + self.warnings)

        return _Feedback()


def run(algorithm: str, parameters: dict[str, Any], feedback: Any = None) -> dict[str, Any]:
    """``processing.run`` with every unset output sent to a temporary output."""
    import processing
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().algorithmById(f"{PROVIDER}:{algorithm}")
    assert alg is not None, f"{PROVIDER}:{algorithm} is not registered"
    params = dict(parameters)
    for output in alg.destinationParameterDefinitions():
        params.setdefault(output.name(), "TEMPORARY_OUTPUT")
    return processing.run(alg, params, feedback=feedback or RecordingFeedback())


def frame(output: Any) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read an output layer (QgsVectorLayer or path) into a (Geo)DataFrame."""
    from qgis.core import QgsVectorLayer, QgsWkbTypes
    from vollsmose_gis_qgis import conversion

    layer = output if isinstance(output, QgsVectorLayer) else QgsVectorLayer(str(output))
    assert layer.isValid(), f"output {output!r} is not a valid layer"
    data = conversion.source_to_frame(layer)
    if layer.wkbType() == QgsWkbTypes.NoGeometry:
        return pd.DataFrame(data.drop(columns="geometry"))
    return data


def raster(path: str | Path) -> tuple[np.ndarray, Any, str]:
    with rasterio.open(path) as src:
        return src.read(1), src.transform, src.crs.to_string()


def assert_same_frame(
    qgis_frame: pd.DataFrame,
    library_frame: pd.DataFrame,
    *,
    columns: list[str] | None = None,
    geometry: bool = True,
) -> None:
    """Same feature count, same values per column, same geometry (row by row)."""
    assert len(qgis_frame) == len(library_frame), (len(qgis_frame), len(library_frame))
    library_geometry = (
        library_frame.geometry.name if isinstance(library_frame, gpd.GeoDataFrame) else None
    )
    names = columns or [c for c in library_frame.columns if c != library_geometry]
    assert names, "nothing to compare"
    for name in names:
        assert name in qgis_frame.columns, f"column {name!r} missing from the QGIS output"
        ours = qgis_frame[name].reset_index(drop=True)
        theirs = library_frame[name].reset_index(drop=True)
        if pd.api.types.is_numeric_dtype(theirs) and not pd.api.types.is_bool_dtype(theirs):
            np.testing.assert_allclose(
                pd.to_numeric(ours).to_numpy(dtype=float),
                pd.to_numeric(theirs).to_numpy(dtype=float),
                rtol=1e-9,
                atol=1e-9,
                equal_nan=True,
                err_msg=f"column {name!r}",
            )
        else:
            left = ours.astype(object).where(ours.notna(), None).map(_text).tolist()
            right = theirs.astype(object).where(theirs.notna(), None).map(_text).tolist()
            assert left == right, f"column {name!r} differs"
    if geometry and library_geometry is not None:
        ours_geom = qgis_frame.geometry.to_numpy()
        theirs_geom = library_frame.geometry.to_numpy()
        both_empty = shapely.is_empty(ours_geom) & shapely.is_empty(theirs_geom)
        same = shapely.equals_exact(ours_geom, theirs_geom, tolerance=1e-6) | both_empty
        assert same.all(), f"{int((~same).sum())} geometries differ"


def _text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def indicator_values(table: pd.DataFrame) -> dict[str, float]:
    return dict(zip(table["indicator"], table["value"].astype(float), strict=True))


def assert_same_indicators(table: pd.DataFrame, library: dict[str, Any]) -> None:
    values = indicator_values(table)
    assert set(values) == set(library)
    for key, indicator in library.items():
        np.testing.assert_allclose(values[key], indicator.value, rtol=1e-9, equal_nan=True)
