"""Map model metabolites to eQuilibrator compounds, offline.

Lookups go to the bundled mini compound cache only (equilibrator-cache-data, which holds every
KEGG and BiGG compound with all their synonyms). eQuilibrator's tiered cache would download the
full 1.3 GB database for an accession outside the mini cache; kinetigen never downloads at run
time, so such a metabolite is reported as unmapped instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import cobra
from equilibrator_cache.compound_cache import CompoundCache
from equilibrator_cache.models import Compound

from kinetigen.network import base_id

# Annotation keys tried after the BiGG id, in order, with eQuilibrator's namespace for each.
ANNOTATION_NAMESPACES = (
    ("metanetx.chemical", "metanetx.chemical"),
    ("kegg.compound", "kegg"),
    ("chebi", "chebi"),
)


@dataclass
class MetaboliteMapping:
    compounds: dict[str, Compound]  # metabolite id -> eQuilibrator compound
    sources: dict[str, str]  # metabolite id -> "namespace:accession" that matched
    unmapped: dict[str, str]  # metabolite id -> reason


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]  # type: ignore[union-attr]


def _lookup_offline(ccache: CompoundCache, namespace: str, accession: str) -> Compound | None:
    # CompoundCache's own lookup, not the tiered subclass's: it never escalates to a download.
    if namespace == "chebi" and not accession.upper().startswith("CHEBI:"):
        accession = f"CHEBI:{accession}"
    return CompoundCache.get_compound_from_registry(ccache, namespace, accession)


def candidate_accessions(metabolite: cobra.Metabolite) -> list[tuple[str, str]]:
    """(namespace, accession) pairs to try: the BiGG base id first, then the annotations."""
    candidates = [("bigg.metabolite", base_id(metabolite.id))]
    annotation = metabolite.annotation or {}
    bigg = _as_list(annotation.get("bigg.metabolite"))
    candidates += [("bigg.metabolite", acc) for acc in bigg if acc != base_id(metabolite.id)]
    for key, namespace in ANNOTATION_NAMESPACES:
        candidates += [(namespace, acc) for acc in _as_list(annotation.get(key))]
    return candidates


def map_metabolites(model: cobra.Model, ccache: CompoundCache) -> MetaboliteMapping:
    """Find an eQuilibrator compound for every metabolite of ``model``."""
    compounds: dict[str, Compound] = {}
    sources: dict[str, str] = {}
    unmapped: dict[str, str] = {}
    for metabolite in model.metabolites:
        tried = candidate_accessions(metabolite)
        for namespace, accession in tried:
            compound = _lookup_offline(ccache, namespace, accession)
            if compound is not None:
                compounds[metabolite.id] = compound
                sources[metabolite.id] = f"{namespace}:{accession}"
                break
        else:
            names = ", ".join(f"{ns}:{acc}" for ns, acc in tried)
            unmapped[metabolite.id] = (
                f"not in eQuilibrator's bundled compound cache (tried {names})"
            )
    return MetaboliteMapping(compounds=compounds, sources=sources, unmapped=unmapped)
