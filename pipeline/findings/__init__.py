"""Problems found by the evaluation (共性问题 / 个性问题): evidence per unit × item, inferred problem states, the
rules that class them, the evaluators' review and the outputs people use. Pure functions over tables.

The API the recovery benchmark and the notebook use: :func:`infer` (evidence → :class:`States`, the costly
part) and :func:`findings_from` (states → findings at a given ``fdr``, cheap).
"""

from pipeline.findings.rules import findings_from, selected_cells
from pipeline.findings.states import States, infer_states
from pipeline.findings.structure import Structure, structure

__all__ = ["States", "Structure", "findings_from", "infer", "infer_states", "selected_cells", "structure"]


def infer(checkpoints, casefiles, unit_vs_peers, config) -> States:
    """The problem states of every applicable unit × item from the 02_clean checkpoints and case files and the
    05_compare unit-vs-peers table (any may be empty), with ``config.findings`` thresholds."""
    from pipeline.findings.evidence import cell_evidence, checkpoint_ratings

    st, rules = structure(config), config.findings
    evidence = cell_evidence(checkpoints, casefiles, unit_vs_peers, config, rules, st)
    return infer_states(evidence, rules, st, checkpoint_ratings(checkpoints, rules, st))
