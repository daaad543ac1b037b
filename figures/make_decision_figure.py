"""Draw the course's decision map, "which method for which problem", as a tree of boxes and arrows.

    python figures/make_decision_figure.py                 # writes figures/decision_map.png
    python figures/make_decision_figure.py --out PATH.png  # writes PATH.png instead

The tree is the data below (``TREE``): a question at each inner node, an answer on each edge, and at each leaf
the ``utils`` function(s) to reach for. ``tests/course/test_decision_figure.py`` checks that every function a leaf names
exists in ``utils``, so the figure cannot silently go stale when the library changes. The advice follows the
lectures' summary tables: week 2 §10, week 3 §9, week 4 §12, week 5 §13 and week 6 §11 (see
``references/cheatsheet.md``). The script needs matplotlib only and is deterministic: the same tree gives the
same picture.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "decision_map.png"


def leaf(text, *functions):
    """A leaf: a short piece of advice and the dotted ``utils`` names (relative to ``utils``) it recommends."""
    return {"text": text, "functions": list(functions)}


def node(question, *branches):
    """An inner node: a question and its (edge label, child) branches."""
    return {"question": question, "branches": list(branches)}


TREE = node(
    "What do you\nknow about\nyour problem?",
    ("gradients are noisy\n(samples, mini-batches)", node(
        "What kind of\nstochastic\nproblem?",
        ("convex finite sum,\nn moderate", leaf("variance reduction: linear rate (week 4 §5)", "svrg", "saga")),
        ("convex, streaming\nor n huge", leaf("SGD with decaying steps or averaging (week 4 §2)",
                                            "stochastic_gradient_descent")),
        ("deep network,\ndefault", leaf("AdamW + warmup/cosine: the baseline to beat (week 4 §6, §9)",
                                       "adaptive.adamw", "schedules.warmup_cosine_schedule")),
        ("transformer hidden\nmatrices", leaf("Muon on matrices, AdamW on the rest (week 6 §7)", "muon.muon")),
        ("curvature worth\nits cost", leaf("Kronecker preconditioners, roots every T steps (week 6 §2–3)",
                                          "shampoo.shampoo", "soap.soap", "kfac.kfac")),
        ("horizon unknown", leaf("schedule-free averaging, evaluate at x (week 6 §6)",
                                 "schedule_free.schedule_free_adamw")),
        ("generalization gap\nmatters more than cost", leaf("SAM/ASAM: 2× gradients, gains must be measured "
                                                           "(week 6 §5)", "sam.sam", "sam.asam")),
        ("state does not\nfit one device", leaf("ZeRO-1/2/3 sharding: same iterates as DP (week 6 §8)",
                                               "distributed.zero_train")),
    )),
    ("constraints\n(exact oracle)", node(
        "What are the\nconstraints?",
        ("LP / convex QP,\nhigh accuracy", leaf("primal-dual interior point, Mehrotra (week 5 §8)",
                                               "lp_ipm", "qp_ipm")),
        ("simple set,\ncheap projection", leaf("projected gradient, optionally accelerated (week 5 §5)",
                                              "projected_gradient")),
        ("cheap linear\nminimization oracle", leaf("Frank–Wolfe; away/pairwise steps on polytopes (week 5 §6)",
                                                   "frank_wolfe.frank_wolfe", "away_frank_wolfe",
                                                   "pairwise_frank_wolfe")),
        ("smooth nonlinear\nconstraints", leaf("SQP, or the method of multipliers (week 5 §9–10)",
                                               "sqp.sqp", "augmented_lagrangian.augmented_lagrangian")),
    )),
    ("nonsmooth,\nunconstrained", node(
        "What structure\ndoes it have?",
        ("smooth f + h with\na cheap prox", leaf("FISTA with gradient restart; ISTA the monotone fallback (week 3 §5–6)",
                                                "fista", "ista")),
        ("f + g(Kx), K only\nby products", leaf("Chambolle–Pock, τσ‖K‖² < 1 (week 3 §8)", "chambolle_pock")),
        ("split with a factor-\nonce linear solve", leaf("ADMM, modest accuracy fast (week 3 §7)", "admm",
                                                         "admm_lasso")),
        ("only subgradients", leaf("subgradient method, Polyak step if f* known (week 3 §3)",
                                   "subgradient_method", "subgradient.polyak")),
    )),
    ("smooth,\nunconstrained", node(
        "Size and\nstructure?",
        ("sum of squared\nresiduals", leaf("Levenberg–Marquardt; Gauss–Newton at small residual (week 2 §9)",
                                           "levenberg_marquardt.levenberg_marquardt", "gauss_newton")),
        ("quadratic,\nAx = b", leaf("conjugate gradients: ≤ n steps, √κ rate (week 2 §4)", "linear_cg")),
        ("small n, Hessian\naffordable", leaf("Newton (damped) or a trust region (week 2 §5, §8)", "newton",
                                             "trust_region.trust_region")),
        ("moderate n", leaf("BFGS with Wolfe steps: superlinear (week 2 §6)", "bfgs")),
        ("large n", leaf("L-BFGS, m = 3–20 pairs, O(mn) memory (week 2 §7)", "lbfgs.lbfgs", "nonlinear_cg")),
        ("L, μ known,\ngradients cheap", leaf("accelerated gradient: √κ instead of κ (week 2 §3)", "nesterov",
                                              "nesterov_strongly_convex")),
    )),
)


def leaves(tree=TREE):
    """Every leaf of the tree, depth first (the order they are drawn, top to bottom)."""
    if "functions" in tree:
        return [tree]
    return [lf for _, child in tree["branches"] for lf in leaves(child)]


def leaf_functions(tree=TREE):
    """Every dotted ``utils`` name the leaves recommend, in drawing order, without repeats."""
    seen = []
    for lf in leaves(tree):
        seen += [f for f in lf["functions"] if f not in seen]
    return seen


FAMILY_COLORS = ["#dbe9f6", "#fde2c8", "#e3f1dc", "#efe0f3"]   # one tint per top-level branch


def _box(ax, x, y, text, *, width, height, face, fontsize, weight="normal", family=None, ha="center"):
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.02,rounding_size=0.08", linewidth=1.0,
                                edgecolor="#333333", facecolor=face))
    tx = x if ha == "center" else x - width / 2 + 0.08
    ax.text(tx, y, text, ha=ha, va="center", fontsize=fontsize, fontweight=weight, family=family)


def _elbow(ax, x0, y0, x1, y1, label=None, *, x_turn):
    """An elbow connector: right from (x0, y0) to x_turn, vertically to y1, right to the box at (x1, y1), with the
    edge's label above its last horizontal run."""
    ax.plot([x0, x_turn, x_turn], [y0, y0, y1], color="#555555", linewidth=0.9, solid_joinstyle="miter")
    ax.annotate("", xy=(x1, y1), xytext=(x_turn, y1),
                arrowprops=dict(arrowstyle="-|>", color="#555555", linewidth=0.9, shrinkA=0, shrinkB=0))
    if label:
        ax.text(x_turn + 0.08, y1 + 0.03, label, ha="left", va="bottom", fontsize=7.0, color="#222222",
                linespacing=1.0)


def draw(tree=TREE):
    """The figure: root on the left, one question per family, the leaves stacked on the right."""
    all_leaves = leaves(tree)
    n = len(all_leaves)
    row = 0.62                                   # vertical spacing of the leaves
    top = (n - 1) * row
    fig, ax = plt.subplots(figsize=(14.5, 0.42 * n + 1.2))
    x_root, x_q, x_leaf = 0.85, 4.1, 10.9
    w_root, w_q, w_leaf = 1.4, 1.4, 6.8
    ys = {id(lf): top - i * row for i, lf in enumerate(all_leaves)}

    q_ys = []
    for color, (_, child) in zip(FAMILY_COLORS, tree["branches"]):
        child_leaves = leaves(child)
        y_q = sum(ys[id(lf)] for lf in child_leaves) / len(child_leaves)
        q_ys.append(y_q)
        _box(ax, x_q, y_q, child["question"], width=w_q, height=0.95, face=color, fontsize=8.5, weight="bold")
        for label, lf in child["branches"]:
            y = ys[id(lf)]
            _elbow(ax, x_q + w_q / 2, y_q, x_leaf - w_leaf / 2, y, label, x_turn=x_q + w_q / 2 + 0.25)
            names = ",  ".join(f"utils.{f}" for f in lf["functions"])
            _box(ax, x_leaf, y, f"{lf['text']}\n{names}", width=w_leaf, height=0.5, face=color,
                 fontsize=7.6, ha="left", family=None)
    y_root = sum(q_ys) / len(q_ys)
    _box(ax, x_root, y_root, tree["question"], width=w_root, height=1.0, face="#f2f2f2", fontsize=9.5,
         weight="bold")
    for (label, _), y_q in zip(tree["branches"], q_ys):
        _elbow(ax, x_root + w_root / 2, y_root, x_q - w_q / 2, y_q, label, x_turn=x_root + w_root / 2 + 0.25)

    ax.set_xlim(0, x_leaf + w_leaf / 2 + 0.1)
    ax.set_ylim(-0.6, top + 0.9)
    ax.set_axis_off()
    ax.set_title("Which method for which problem: the course's decision map (leaves name the utils function)",
                 fontsize=11, loc="left")
    fig.tight_layout()
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output PNG (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig = draw()
    fig.savefig(args.out, dpi=130, metadata={"Software": None})
    plt.close(fig)
    print(f"wrote {args.out} ({len(leaves())} leaves, {len(leaf_functions())} utils functions)")
    return args.out


if __name__ == "__main__":
    main()
