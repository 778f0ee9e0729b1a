"""The ``fazhi-eval`` command: validate the configuration, simulate raw data, run the stages.

Errors in the user's data or configuration print a message naming the file, row and column and exit with a
non-zero status (1 for an invalid configuration, 2 for unusable data); they never print a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline import __version__, paths
from pipeline.errors import FazhiError

STAGE_HELP = {
    "ingest": "读取原始导出 (问卷星/纸质录入/案卷评查表/核查表) → output/01_ingest/",
    "clean": "清洗：剔除重复、过快、直线作答、注意力题失败等，记录每一条剔除原因 → output/02_clean/",
    "weight": "加权：公众样本按人口边际 raking，公职人员按单位 → output/03_weight/",
    "reliability": "信度与效度：alpha、omega、项目分析、因子结构、评查员一致性 → output/04_reliability/",
    "compare": "组间比较：县区/部门/人群差异、效应量、多重比较校正 → output/05_compare/",
    "describe": "描述统计：每题频数与加权百分比、交叉表、多选、排序、量表与满意率 → output/06_describe/",
    "score": "指标得分：各单位在 17×53 指标体系上的要点、项目、方面和总分 (含覆盖率)，同类单位排名与梯队 → output/07_score/",
    "findings": "问题发现：共性问题与个性问题（证据、排序、整改建议、问题清单）→ output/08_findings/",
    "report": "统计附录：Word 与 Excel 附录、图表、各单位整改通知单与评分卡 → output/09_report/",
}


def _add_io_options(p: argparse.ArgumentParser, *, raw: bool = True) -> None:
    if raw:
        p.add_argument("--raw", type=Path, default=paths.DEFAULT_RAW, help="原始数据目录 (default: raw/)")
    p.add_argument("--out", type=Path, default=paths.DEFAULT_OUT, help="输出目录 (default: output/)")
    p.add_argument(
        "--config", type=Path, default=paths.DEFAULT_CONFIG, help="配置目录 (default: questionnaires/)"
    )


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """One flag per :class:`pipeline.options.RunOptions` field (``n_boot`` → ``--n-boot``), defaults from there."""
    from pipeline.options import option_fields

    p.add_argument("--seed", type=int, default=20231, help="随机种子 (bootstrap 等)")
    for f in option_fields():
        flag, help_text = f.metadata["flag"], f.metadata["help"]
        if f.type in (bool, "bool"):
            p.add_argument(flag, dest=f.name, action="store_true", default=f.default, help=help_text)
        else:
            p.add_argument(flag, dest=f.name, type=int, default=f.default, metavar="N", help=help_text)


def _run_options(args: argparse.Namespace):
    from pipeline.options import RunOptions, option_fields

    return RunOptions(**{f.name: getattr(args, f.name) for f in option_fields()})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fazhi-eval",
        description="法治建设第三方评估数据分析流水线 (fazhi-eval): 从问卷星导出、案卷评查表和核查表到指标得分与统计附录。",
        epilog="典型用法: fazhi-eval validate && fazhi-eval run   (结果写入 output/)",
    )
    parser.add_argument("--version", action="version", version=f"fazhi-eval {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("validate", help="检查 questionnaires/ 中的全部配置，列出所有问题")
    p.add_argument(
        "--config", type=Path, default=paths.DEFAULT_CONFIG, help="配置目录 (default: questionnaires/)"
    )

    p = sub.add_parser("simulate", help="生成一套逼真的模拟原始数据 (问卷星导出、案卷评查表、核查表)")
    p.add_argument("--out", type=Path, required=True, help="写入的目录 (如 raw/)")
    p.add_argument("--seed", type=int, default=20231, help="随机种子 (相同种子得到相同内容)")
    p.add_argument(
        "--scale", type=float, default=1.0, help="样本量倍数 (如 100 → 约百万份公众问卷, 写成 CSV)"
    )
    p.add_argument("--plant", type=Path, default=None, help="要植入的问题清单 (YAML)，写出 truth.json")
    p.add_argument(
        "--config", type=Path, default=paths.DEFAULT_CONFIG, help="配置目录 (default: questionnaires/)"
    )

    p = sub.add_parser("template", help="写出纸质问卷录入/案卷评查/核查用的空白 Excel 模板 (带下拉校验)")
    p.add_argument("kind", choices=["public", "staff", "casefile", "checkpoints"])
    p.add_argument("--out", type=Path, default=None, help="输出文件 (default: template_<kind>.xlsx)")
    p.add_argument(
        "--config", type=Path, default=paths.DEFAULT_CONFIG, help="配置目录 (default: questionnaires/)"
    )

    p = sub.add_parser("codebook", help="问卷配置辅助工具 (draft: 从问卷星导出起草问卷 YAML)")
    books = p.add_subparsers(dest="codebook_command", metavar="ACTION", required=True)
    p = books.add_parser(
        "draft", help="从问卷星导出文件起草问卷配置与 cleaning.yaml (带 TODO 注释，人工核对后使用)"
    )
    p.add_argument("export", type=Path, help="问卷星导出文件 (按选项文本, .xls/.xlsx/.csv)")
    p.add_argument(
        "export_code_mode",
        type=Path,
        nargs="?",
        default=None,
        help="同一批答卷的按选项序号导出 (可选；给出时选项代码与问卷星一致)",
    )
    p.add_argument(
        "--instrument", choices=["public", "staff"], default="public", help="问卷 (default: public)"
    )
    p.add_argument(
        "--out", type=Path, default=Path("codebook_draft"), help="写入的目录 (default: codebook_draft/)"
    )
    p.add_argument("--force", action="store_true", help="覆盖目录中已有的草稿文件")

    for name, help_text in STAGE_HELP.items():
        p = sub.add_parser(name, help=help_text)
        _add_io_options(p)
        _add_run_options(p)
        if name == "report":
            p.add_argument(
                "--pdf",
                action="store_true",
                help="再用 LibreOffice 把附录转成 PDF → output/pdf/ (需安装 libreoffice-writer-nogui)",
            )

    p = sub.add_parser("run", help="按顺序运行全部阶段 (ingest → clean → … → findings → report)")
    _add_io_options(p)
    _add_run_options(p)
    p.add_argument("--only", nargs="+", choices=list(paths.STAGE_FOLDERS), help="只运行这些阶段")
    p.add_argument(
        "--force", action="store_true", help="即使输入未变也重新运行 (default: 输入未变的阶段沿用上次结果)"
    )

    p = sub.add_parser(
        "export",
        help="导出清洗加权后的答卷数据 (SPSS .sav 带变量/取值标签、.xlsx、.csv；假名编号，已脱敏) → output/export/",
    )
    p.add_argument("--out", type=Path, default=None, help="写入的目录 (default: output/export/)")
    p.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=paths.DEFAULT_OUT,
        help="流水线输出目录 (default: output/)",
    )
    p.add_argument(
        "--format",
        type=_export_formats,
        default="sav,xlsx,csv",
        help="格式，逗号分隔 (default: sav,xlsx,csv)",
    )
    p.add_argument("--instrument", choices=["public", "staff"], default=None, help="问卷 (default: 全部)")
    p.add_argument(
        "--config", type=Path, default=paths.DEFAULT_CONFIG, help="配置目录 (default: questionnaires/)"
    )

    p = sub.add_parser(
        "compare-rounds", help="两轮评估对比：问题已解决/持续存在/新发现，各方面得分变化，整改清单填报情况"
    )
    p.add_argument("old", type=Path, help="上一轮的输出目录 (如中期评估的 output/)")
    p.add_argument("new", type=Path, help="本轮的输出目录")
    p.add_argument("--status", type=Path, default=None, help="办公室填报后的 problem_list.xlsx (可选)")
    p.add_argument("--out", type=Path, required=True, help="写入的目录")

    p = sub.add_parser(
        "verify", help="核验输出：原始数据、配置和各阶段结果是否仍与运行清单一致 (exit 0 一致, 2 不一致)"
    )
    p.add_argument(
        "output", type=Path, nargs="?", default=paths.DEFAULT_OUT, help="输出目录 (default: output/)"
    )
    p.add_argument("--raw", type=Path, default=None, help="原始数据目录 (default: 清单中记录的路径)")
    p.add_argument("--config", type=Path, default=None, help="配置目录 (default: 清单中记录的路径)")
    return parser


def _cmd_validate(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.config.checks import summary

    config = load_config(args.config)
    print(summary(config))
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.simulate import simulate_raw

    config = load_config(args.config)
    written = simulate_raw(config, args.out, seed=args.seed, scale=args.scale, plant=args.plant)
    print(f"模拟数据已写入 {args.out} ({len(written)} 个文件)")
    for path in written:
        print(f"  {path}")
    truth = json.loads((Path(args.out) / paths.RAW_TRUTH).read_text(encoding="utf-8"))
    for part in truth.get("skipped", []):
        print(f"  跳过 (skipped) {part['what']}: {part['reason']}")
    return 0


def _cmd_template(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.ingest.templates import write_template

    config = load_config(args.config)
    out = args.out or Path(f"template_{args.kind}.xlsx")
    write_template(config, args.kind, out)
    print(f"模板已写入 {out}")
    return 0


def _cmd_codebook_draft(args: argparse.Namespace) -> int:
    from pipeline.ingest.draft import draft_from_exports
    from pipeline.ingest.draft_yaml import cleaning_yaml, questionnaire_yaml
    from pipeline.ingest.wjx import read_export

    questionnaire, cleaning = args.out / f"{args.instrument}.yaml", args.out / "cleaning.yaml"
    existing = [str(p) for p in (questionnaire, cleaning) if p.exists()]
    if existing and not args.force:
        print(
            f"错误 (error): 文件已存在 (exists; --force to overwrite): {', '.join(existing)}", file=sys.stderr
        )
        return 1
    text = read_export(args.export)
    code = read_export(args.export_code_mode) if args.export_code_mode else None
    draft = draft_from_exports(text, code, instrument=args.instrument)
    args.out.mkdir(parents=True, exist_ok=True)
    questionnaire.write_text(questionnaire_yaml(draft), encoding="utf-8")
    cleaning.write_text(cleaning_yaml(draft), encoding="utf-8")
    n_todo = sum(len(q.notes) for q in draft.questions)
    print(f"问卷草稿已写入 {questionnaire} ({len(draft.questions)} 题, {n_todo} 处 TODO) 和 {cleaning}")
    return 0


def _export_formats(text: str) -> tuple[str, ...]:
    from pipeline.export import parse_formats

    return parse_formats(text)


def _cmd_export(args: argparse.Namespace) -> int:
    from pipeline.export import export_command

    instruments = [args.instrument] if args.instrument else None
    for line in export_command(
        args.source, args.config, args.out, formats=args.format, instruments=instruments
    ):
        print(line)
    return 0


def _cmd_compare_rounds(args: argparse.Namespace) -> int:
    from pipeline.findings import rounds
    from pipeline.safe_cells import write_xlsx

    old, new = rounds.read_findings(args.old), rounds.read_findings(args.new)
    problems = rounds.problem_changes(old, new)
    sheets = {"问题变化": problems, "得分变化": rounds.score_changes(args.old, args.new)}
    files = {
        "问题变化": "problems",
        "得分变化": "scores",
        "整改状态": "status",
        "整改状态汇总": "status_by_unit",
    }
    if args.status is not None:
        status = rounds.read_status(args.status)
        sheets["整改状态"] = status
        sheets["整改状态汇总"] = rounds.status_by_unit(status)
    args.out.mkdir(parents=True, exist_ok=True)
    write_xlsx(sheets, args.out / "rounds.xlsx")
    for name, frame in sheets.items():
        frame.to_parquet(args.out / f"{files[name]}.parquet", index=False)
    counts = problems.drop_duplicates(["id", "change"])["change"].value_counts()
    print(
        "问题 (problems): "
        + "，".join(f"{k} {int(counts.get(k, 0))}" for k in ("已解决", "持续存在", "新发现"))
    )
    print(f"结果已写入 {args.out / 'rounds.xlsx'}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from pipeline.verify import report_lines, verify

    result = verify(args.output, raw=args.raw, config=args.config)
    for line in report_lines(result):
        print(line)
    return 0 if result.ok else 2


def _cmd_stages(args: argparse.Namespace, stages: list[str] | None) -> int:
    from pipeline.runner import run_stages
    from pipeline.stages.base import StageContext

    ctx = StageContext(
        raw=args.raw, out=args.out, config_dir=args.config, seed=args.seed, options=_run_options(args)
    )
    # a single stage asked for by name always runs; `run` reuses stages whose inputs did not change
    force = args.force if args.command == "run" else True
    run_stages(ctx, stages, force=force)
    print(f"结果位于 {args.out.resolve()} (清单: {args.out / paths.MANIFEST})")
    if getattr(args, "pdf", False):
        from pipeline.report.pdf import appendix_pdf

        pdf = appendix_pdf(args.out, ctx.config, args.out / paths.PDF_FOLDER)
        print(f"PDF 已写入 {pdf}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "validate":
            return _cmd_validate(args)
        if args.command == "simulate":
            return _cmd_simulate(args)
        if args.command == "template":
            return _cmd_template(args)
        if args.command == "codebook":
            return _cmd_codebook_draft(args)
        if args.command == "verify":
            return _cmd_verify(args)
        if args.command == "export":
            return _cmd_export(args)
        if args.command == "compare-rounds":
            return _cmd_compare_rounds(args)
        if args.command == "run":
            return _cmd_stages(args, args.only)
        return _cmd_stages(args, [args.command])
    except FazhiError as exc:
        print(f"错误 (error): {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("已中断 (interrupted)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
