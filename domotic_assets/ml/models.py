"""The kinds of candidate a use case draws from (`use_cases.py`): naive baselines, linear models and one global
LightGBM across rooms. All share `fit(train)` / `predict(frame)` on feature frames; deterministic (fixed seed).
scikit-learn and LightGBM are imported when a model is fitted: every run process imports the code location,
and only the ML runs need them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np
import polars as pl

from domotic_assets.ml.features import CATEGORICAL, FEATURES

if TYPE_CHECKING:
    from lightgbm import LGBMClassifier, LGBMRegressor
    from sklearn.pipeline import Pipeline

SEED = 7
NUMERIC = tuple(name for name in FEATURES if name not in CATEGORICAL)
LIGHTGBM_PARAMS: dict[str, Any] = {"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 31,
                                   "min_child_samples": 50, "subsample": 0.8, "subsample_freq": 1,
                                   "colsample_bytree": 0.8, "random_state": SEED, "deterministic": True, "n_jobs": 1,
                                   "verbose": -1}


class Baseline:
    """A naive forecast read from feature columns: the first of `columns` that is known, else the training mean."""

    params: dict = {}

    def __init__(self, name: str, *columns: str):
        self.name, self.columns, self.mean = name, columns, 0.0

    def fit(self, train: pl.DataFrame) -> Baseline:
        self.mean = float(cast(float, train["target"].mean()))  # None (no rows) fails here
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        return frame.select(pl.coalesce(*self.columns, pl.lit(self.mean))).to_series().to_numpy().astype(float)


def category_codes(train: pl.DataFrame) -> dict[str, dict[int, int]]:
    """Small integer codes of the rooms and apartments seen in training."""
    return {name: {key: code for code, key in enumerate(sorted(train[name].unique().to_list()))}
            for name in CATEGORICAL}


def matrix(frame: pl.DataFrame, codes: dict[str, dict[int, int]]) -> np.ndarray:
    """NUMERIC then CATEGORICAL as floats; a room or apartment unseen in training is missing."""
    return frame.select(
        *NUMERIC, *(pl.col(name).replace_strict(codes[name], default=None).cast(pl.Float64) for name in CATEGORICAL),
    ).to_numpy().astype(float)


CATEGORICAL_COLUMNS = list(range(len(NUMERIC), len(NUMERIC) + len(CATEGORICAL)))


class Linear:
    """Logistic regression (occupancy) or ridge regression (power) on scaled numeric features with missing
    values imputed, room and apartment one-hot encoded."""

    def __init__(self, name: str, classifier: bool):
        self.name, self.classifier = name, classifier
        self.params = {"C": 1.0, "max_iter": 1000} if classifier else {"alpha": 1.0}
        self.codes: dict[str, dict[int, int]] = {}
        self.model: Pipeline | None = None

    def fit(self, train: pl.DataFrame) -> Linear:
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        self.codes = category_codes(train)
        columns = ColumnTransformer([
            ("numeric", make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()),
             list(range(len(NUMERIC)))),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL_COLUMNS)])
        estimator = LogisticRegression(**self.params) if self.classifier else Ridge(**self.params)
        self.model = make_pipeline(columns, estimator).fit(matrix(train, self.codes), train["target"].to_numpy())
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        if self.model is None:
            raise RuntimeError(f"{self.name} predicts before it is fitted")
        data = matrix(frame, self.codes)
        return self.model.predict_proba(data)[:, 1] if self.classifier else self.model.predict(data)


class LightGBM:
    """One gradient-boosted model across rooms; room and apartment are categorical features. No class
    weighting: it would distort the probabilities."""

    def __init__(self, name: str, classifier: bool):
        # power is selected by MAE: fit the conditional median (L1), not the mean
        self.name, self.classifier = name, classifier
        self.params = {**LIGHTGBM_PARAMS, **({} if classifier else {"objective": "l1"})}
        self.codes: dict[str, dict[int, int]] = {}
        self.model: LGBMClassifier | LGBMRegressor | None = None

    def fit(self, train: pl.DataFrame) -> LightGBM:
        import lightgbm as lgb

        self.codes = category_codes(train)
        estimator = lgb.LGBMClassifier if self.classifier else lgb.LGBMRegressor
        self.model = estimator(**self.params).fit(matrix(train, self.codes), train["target"].to_numpy(),
                                                  categorical_feature=CATEGORICAL_COLUMNS)
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        from lightgbm import LGBMClassifier

        if self.model is None:
            raise RuntimeError(f"{self.name} predicts before it is fitted")
        data = matrix(frame, self.codes)
        # a dense matrix in, an array out (the hint of lightgbm's predict also allows sparse matrices)
        if isinstance(self.model, LGBMClassifier):
            return cast(np.ndarray, self.model.predict_proba(data))[:, 1]
        return cast(np.ndarray, self.model.predict(data))

    def importance(self) -> dict[str, float]:
        if self.model is None:
            raise RuntimeError(f"{self.name} has no feature importance before it is fitted")
        gains = self.model.booster_.feature_importance("gain")
        return dict(zip((*NUMERIC, *CATEGORICAL), map(float, gains), strict=True))

