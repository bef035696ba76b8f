# ruff: noqa: E501 - ruff counts each Chinese character as two columns; the strings read better whole
"""Every string a report reader sees, in Chinese (``zh``) and English (``en``).

Templates and chart code call ``_("key", **values)``; a key missing in either language is a bug that
``tests/report/test_i18n.py`` catches (it also checks that every key the templates and modules use is
defined here). Norm titles are not here: they come from :mod:`questionnaires`.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("zh", "en")

STRINGS: dict[str, dict[str, str]] = {
    # --- title page ---------------------------------------------------------------------------
    "survey_title": {"zh": "公民生态环境行为调查", "en": "Citizen Ecological-Behaviour Survey"},
    "report_kind": {"zh": "年度趋势报告", "en": "Trend report"},
    "report_kind_levels": {"zh": "年度报告", "en": "Annual report"},
    "subtitle": {
        "zh": "《公民生态环境行为规范十条》认知与践行情况",
        "en": "How citizens know and practise the Ten Norms for Ecological and Environmental Behaviour",
    },
    "wave_label": {"zh": "本期调查", "en": "Survey wave"},
    "waves_covered": {"zh": "涵盖轮次", "en": "Waves covered"},
    "base_wave_label": {"zh": "比较基准", "en": "Compared with"},
    "generated_label": {"zh": "生成日期", "en": "Generated"},
    "language_label": {"zh": "语言", "en": "Language"},
    "language_name": {"zh": "中文", "en": "English"},
    "font_label": {"zh": "字体", "en": "Typeface"},
    "data_label": {"zh": "数据", "en": "Data"},
    "contents": {"zh": "目录", "en": "Contents"},
    "year": {"zh": "{wave}年", "en": "{wave}"},
    "list_sep": {"zh": "、", "en": "; "},
    # --- sections -----------------------------------------------------------------------------
    "sec_summary": {"zh": "主要发现", "en": "Executive summary"},
    "sec_overview": {"zh": "十条规范总览", "en": "The Ten Norms at a glance"},
    "sec_norms": {"zh": "分规范结果", "en": "Results by norm"},
    "sec_table": {"zh": "指标汇总表", "en": "Table of all indicators"},
    "sec_method": {"zh": "附录：方法说明", "en": "Annex: methodology"},
    # --- indicators ---------------------------------------------------------------------------
    "kind_awareness": {"zh": "认知", "en": "Awareness"},
    "kind_practice": {"zh": "践行", "en": "Practice"},
    "kind_gap": {"zh": "知行差距", "en": "Knowledge–action gap"},
    "kind_index": {"zh": "总指数", "en": "Overall index"},
    "kindlc_awareness": {"zh": "认知得分", "en": "awareness"},
    "kindlc_practice": {"zh": "践行得分", "en": "practice"},
    "kindlc_gap": {"zh": "知行差距", "en": "the knowledge–action gap"},
    "kindind_awareness": {"zh": "认知得分", "en": "awareness"},
    "kindind_practice": {"zh": "践行得分", "en": "practice"},
    "kindind_gap": {"zh": "知行差距", "en": "knowledge–action gap"},
    "kindcap_awareness": {"zh": "认知得分", "en": "Awareness"},
    "kindcap_practice": {"zh": "践行得分", "en": "Practice"},
    "kindcap_gap": {"zh": "知行差距", "en": "The knowledge–action gap"},
    # --- why waves are not comparable (filled with item codes and years) -----------------------
    "indicator_index": {"zh": "{kind}总指数", "en": "overall {kind} index"},
    "years_sep": {"zh": "、", "en": ", "},
    "years_last_sep": {"zh": "、", "en": " and "},
    "group_sep": {"zh": "，", "en": ", "},
    "kinds_and": {"zh": "和", "en": " and "},
    "why_wording": {"zh": "{item}题目措辞有变更（{groups}）", "en": "the wording of {item} changed ({groups})"},
    "why_version_group": {"zh": "{waves}年为第{version}版", "en": "version {version} in {waves}"},
    "why_missing": {"zh": "{item}在{waves}年未询问或无回答", "en": "{item} was not asked or has no answers in {waves}"},
    "why_sep": {"zh": "；", "en": "; "},
    "norm_version_group": {"zh": "{waves}年依据{version}年版", "en": "{waves} followed the {version} version"},
    # --- executive summary --------------------------------------------------------------------
    "sum_index_up": {
        "zh": "{wave}年{kind}总指数为{value}分（95%置信区间{lo}–{hi}），较{base}年上升{diff}分（{stats}）。",
        "en": "The overall {kind} index stands at {value} in {wave} (95% CI {lo}–{hi}), "
              "up {diff} points since {base} ({stats}).",
    },
    "sum_index_down": {
        "zh": "{wave}年{kind}总指数为{value}分（95%置信区间{lo}–{hi}），较{base}年下降{diff}分（{stats}）。",
        "en": "The overall {kind} index stands at {value} in {wave} (95% CI {lo}–{hi}), "
              "down {diff} points since {base} ({stats}).",
    },
    "sum_index_stable": {
        "zh": "{wave}年{kind}总指数为{value}分（95%置信区间{lo}–{hi}），与{base}年相比保持稳定"
              "（变化{diff}分，{stats}；不显著）。",
        "en": "The overall {kind} index stands at {value} in {wave} (95% CI {lo}–{hi}), stable "
              "since {base} (change {diff} points, {stats}; not significant).",
    },
    "sum_index_only": {
        "zh": "{wave}年{kind}总指数为{value}分（95%置信区间{lo}–{hi}）。",
        "en": "The overall {kind} index stands at {value} in {wave} (95% CI {lo}–{hi}).",
    },
    "kindidx_awareness": {"zh": "认知", "en": "awareness"},
    "kindidx_practice": {"zh": "践行", "en": "practice"},
    "kindidx_gap": {"zh": "知行差距", "en": "knowledge–action gap"},
    "sum_change_up": {
        "zh": "{norm}：{kind}较{base}年上升{diff}分（{stats}）。",
        "en": "{norm}: {kind} rose {diff} points since {base} ({stats}).",
    },
    "sum_change_down": {
        "zh": "{norm}：{kind}较{base}年下降{diff}分（{stats}）。",
        "en": "{norm}: {kind} fell {diff} points since {base} ({stats}).",
    },
    "sum_stable": {
        "zh": "{kind}与{base}年相比无显著变化（稳定）：{items}。",
        "en": "Stable since {base} in {kind} (no significant change): {items}.",
    },
    "sum_none_changed": {
        "zh": "与{base}年相比，十条规范的认知和践行得分均无显著变化。",
        "en": "No norm's awareness or practice score changed significantly since {base}.",
    },
    "sum_gap": {
        "zh": "知行差距最大的是{norm}：认知{a}分，践行{pr}分，差距{g}分。",
        "en": "The widest knowledge–action gap is for {norm}: awareness {a}, practice {pr}, "
              "a gap of {g} points.",
    },
    "sum_trend": {
        "zh": "{first}–{last}年间，{count}条规范的践行得分呈显著线性趋势：{items}。",
        "en": "Over {first}–{last}, practice shows a significant linear trend for {count} "
              "norms: {items}.",
    },
    "sum_trend_one": {
        "zh": "{first}–{last}年间，有1条规范的践行得分呈显著线性趋势：{items}。",
        "en": "Over {first}–{last}, practice shows a significant linear trend for one norm: "
              "{items}.",
    },
    "sum_trend_none": {
        "zh": "{first}–{last}年间，各规范践行得分均无显著线性趋势。",
        "en": "Over {first}–{last}, no norm's practice score shows a significant linear trend.",
    },
    "sum_index_nc": {
        "zh": "{wave}年{kind}总指数为{value}分（95%置信区间{lo}–{hi}）；未与{base}年比较：总指数包含各条规范，"
              "而{reasons}；题目或措辞不同的得分不可比。",
        "en": "The overall {kind} index stands at {value} in {wave} (95% CI {lo}–{hi}); it is "
              "not compared with {base}: the index includes every norm, and {reasons}; scores "
              "built on different items or wording are not comparable.",
    },
    "sum_change_nc": {
        "zh": "{norm}：{kind}未与{base}年比较，因为{reasons}，不作为变化报告。",
        "en": "{norm}: {kind} is not compared with {base} because {reasons}; no change is "
              "reported.",
    },
    "sum_common_items": {
        "zh": "以下指标的变化和趋势仅按各轮共有的题目计算（不含{items}，其题目或措辞在各轮之间不同）：{targets}。",
        "en": "Changes and trends of {targets} are computed on the items the waves share "
              "(without {items}, whose items or wording differ between waves).",
    },
    "sum_trend_nc": {
        "zh": "{norm}：{kind}未报告{first}–{last}年线性趋势，因为{reasons}。",
        "en": "{norm}: no linear trend in {kind} is reported for {first}–{last} because "
              "{reasons}.",
    },
    "sum_trend_item": {"zh": "{norm}（每年{slope}分）", "en": "{norm} ({slope} points a year)"},
    "sum_note": {
        "zh": "只有经{adj}多重比较校正后显著（α = {alpha}）的变化才称为上升或下降，其余称为“稳定”；"
              "线性趋势同样按校正后的p值判断。校正分族进行：三项总指数的变化为一族，各规范得分（认知、践行、知行差距）的变化为另一族；"
              "总指数的趋势与各规范的趋势也各为一族。每个p值都注明是否经过校正；未校正的p值仅供参考。得分范围为0–100分。",
        "en": "Only changes significant after {adj} correction for multiple comparisons "
              "(α = {alpha}) are called rises or falls; all others are reported as stable. "
              "Linear trends are judged on corrected p-values too. The correction is made within "
              "families: the changes of the three headline indices are one family, the changes of "
              "the norms' scores (awareness, practice, gap) another; the trends of the headline "
              "indices and those of the norms are two more. Every p-value says whether it is "
              "adjusted; unadjusted p-values are for reference only. Scores run from 0 to 100.",
    },
    "adj_holm": {"zh": "Holm法", "en": "Holm"},
    "adj_bh": {"zh": "Benjamini–Hochberg法", "en": "Benjamini–Hochberg"},
    "p_unadjusted": {"zh": "未校正{p}", "en": "unadjusted {p}"},
    "p_adjusted": {"zh": "经{adj}对{family}校正后{p}", "en": "{adj}-adjusted {p} over {family}"},
    "p_pair": {"zh": "{raw}；{adjusted}", "en": "{raw}; {adjusted}"},
    "change_stats": {"zh": "95%置信区间{lo}至{hi}；{p}", "en": "95% CI {lo} to {hi}; {p}"},
    "family_headline": {"zh": "{n}项总指数", "en": "the {n} headline indices"},
    "family_norms": {
        "zh": "{n}项规范得分（各规范的认知、践行得分和知行差距）",
        "en": "the {n} norm scores (each norm's awareness, practice and gap)",
    },
    "family_headline_trend": {"zh": "{n}项总指数趋势", "en": "the {n} headline index trends"},
    "family_norm_trend": {"zh": "{n}项规范得分趋势", "en": "the {n} norm score trends"},
    # --- charts -------------------------------------------------------------------------------
    "chart_overview_title": {
        "zh": "{wave}年十条规范的认知与践行得分",
        "en": "Awareness and practice of the Ten Norms, {wave}",
    },
    # a chart's alt text: what it shows and where its numbers are (for screen readers)
    "chart_alt": {"zh": "{title}（数值见{where}）", "en": "{title} (values in {where})"},
    "alt_table_below": {"zh": "下表", "en": "the table below"},
    "alt_table_all": {"zh": "指标汇总表", "en": "the table of all indicators"},
    "chart_trend_title": {"zh": "{code}：{first}–{last}年趋势", "en": "{code}: trend {first}–{last}"},
    "chart_subgroup_title": {
        "zh": "{code}：{wave}年各群体践行得分",
        "en": "{code}: practice by subgroup, {wave}",
    },
    "axis_score": {"zh": "得分（0–100分）", "en": "Score (0–100 points)"},
    "axis_wave": {"zh": "调查年份", "en": "Survey year"},
    "ci95": {"zh": "95%置信区间", "en": "95% CI"},
    "chart_source": {
        "zh": "资料来源：{source}；{wave}年，n = {n}；加权估计，误差线为95%置信区间。",
        "en": "Source: {source}; wave {wave}, n = {n}; weighted estimates, bars show 95% CIs.",
    },
    "chart_source_trend": {
        "zh": "资料来源：{source}；n = {n}；加权估计，阴影为95%置信区间。",
        "en": "Source: {source}; n = {n}; weighted estimates, bands show 95% CIs.",
    },
    "chart_break_wording": {"zh": "{kind}：题目措辞变更（{items}）", "en": "{kind}: wording changed ({items})"},
    "chart_break_items": {"zh": "{kind}：题目变更（{items}）", "en": "{kind}: items changed ({items})"},
    "chart_break_note": {
        "zh": "虚线两侧题目或措辞不同，得分不连线，不可直接比较。",
        "en": "Either side of a dashed line the items or wording differ: the scores are not "
              "joined and not comparable.",
    },
    "chart_suppressed": {"zh": "n < {min_n}，不予显示", "en": "n < {min_n}, not shown"},
    "figure": {"zh": "图{num}", "en": "Figure {num}"},
    # --- overview -----------------------------------------------------------------------------
    "overview_text": {
        "zh": "下图为{wave}年各规范的认知得分与践行得分及其95%置信区间，两者之差即知行差距。",
        "en": "The chart shows each norm's awareness and practice scores in {wave} with 95% "
              "confidence intervals; the distance between them is the knowledge–action gap.",
    },
    "overview_subgroups_heading": {"zh": "谁在践行上落后", "en": "Who lags in practice"},
    "overview_subgroups_text": {
        "zh": "下图为{wave}年各群体的践行总指数（十条规范践行得分的平均）及95%置信区间，虚线为全体平均；"
              "样本量少于{min_n}的群体不予显示。各规范的群体差异及其检验见分规范结果。",
        "en": "The chart shows the practice index (the mean of the ten practice scores) by group "
              "in {wave} with 95% confidence intervals; the dashed line is the whole sample. "
              "Groups with fewer than {min_n} responses are not shown. Each norm's chapter has "
              "its subgroup estimates and tests.",
    },
    # --- per-norm page ------------------------------------------------------------------------
    "col_indicator": {"zh": "指标", "en": "Indicator"},
    "col_se": {"zh": "标准误", "en": "SE"},
    "col_ci": {"zh": "95%置信区间", "en": "95% CI"},
    "col_change": {"zh": "变化", "en": "Change"},
    "col_practice_change": {"zh": "践行得分变化", "en": "Change in practice"},
    "col_change_ci": {"zh": "变化的95%置信区间", "en": "95% CI of change"},
    "col_p_raw": {"zh": "p值（未校正）", "en": "p (unadjusted)"},
    "col_p_adj": {"zh": "p值（{adj}校正后）", "en": "p ({adj}-adjusted)"},
    "norm_p_note": {
        "zh": "校正后p值：经{adj}对{family}校正；结论依据校正后p值（α = {alpha}）。",
        "en": "Adjusted p: {adj} correction over {family}; the verdict rests on the adjusted p "
              "(α = {alpha}).",
    },
    "col_verdict": {"zh": "结论", "en": "Verdict"},
    "col_wave": {"zh": "轮次", "en": "Wave"},
    "col_n": {"zh": "样本量", "en": "n"},
    "col_variable": {"zh": "变量", "en": "Variable"},
    "col_group": {"zh": "群体", "en": "Group"},
    "col_norm": {"zh": "规范", "en": "Norm"},
    "verdict_up": {"zh": "上升", "en": "rose"},
    "verdict_down": {"zh": "下降", "en": "fell"},
    "verdict_stable": {"zh": "稳定", "en": "stable"},
    "verdict_na": {"zh": "不可比", "en": "not comparable"},
    "trend_line": {
        "zh": "{first}–{last}年线性趋势：{kind}每年{slope}分（标准误{se}，{p}）。",
        "en": "Linear trend {first}–{last}, {kind}: {slope} points a year (SE {se}, {p}).",
    },
    "trend_none": {
        "zh": "可比轮次少于三个，未估计线性趋势。",
        "en": "Fewer than three comparable waves: no linear trend estimated.",
    },
    "subgroups_heading": {"zh": "{norm}：群体差异", "en": "{norm}: subgroup differences"},
    # names of the tables' scroll regions (read by screen readers; unique on the page)
    "table_region": {"zh": "{title}：{table}", "en": "{title}: {table}"},
    "table_region_part": {"zh": "{title}：群体表（{part}）", "en": "{title}: subgroup table ({part})"},
    "subgroup_tests_caption": {
        "zh": "践行得分的群体差异检验：各群体践行得分相等的设计基础Wald检验",
        "en": "Do the groups differ in the practice score? Design-based Wald test that every "
              "group's practice score is equal",
    },
    "col_groups_tested": {"zh": "检验的群体数", "en": "Groups tested"},
    "col_wald_f": {"zh": "F（自由度）", "en": "F (df)"},
    "wald_f_value": {"zh": "{f}（{ndf}, {ddf}）", "en": "{f} ({ndf}, {ddf})"},
    "groups_left_out": {"zh": "（未含样本量不足的{groups}）", "en": "(without {groups}: too few responses)"},
    "pairs_caption": {
        "zh": "两两比较：经{adj}校正后差异显著（α = {alpha}）的群体对（差值 = 前者减后者，单位：分）",
        "en": "Pairs of groups that differ after {adj} correction (α = {alpha}); difference = "
              "first minus second, in points",
    },
    "col_pair": {"zh": "群体对", "en": "Pair"},
    "col_difference": {"zh": "差值", "en": "Difference"},
    "col_p_adj_pairs": {"zh": "p值（{adj}校正后）", "en": "p ({adj}-adjusted)"},
    "pair_label": {"zh": "{a} − {b}", "en": "{a} − {b}"},
    "pairs_none": {
        "zh": "两两比较：经{adj}校正后（α = {alpha}），没有任何两个群体的践行得分差异显著。",
        "en": "Pairwise comparisons: after {adj} correction (α = {alpha}) no two groups differ "
              "significantly in the practice score.",
    },
    "subgroup_tests_note": {
        "zh": "检验对象为上图所示的践行得分。F = W/(G−1)，W为各群体得分差值的Wald统计量，协方差由设计的线性化（分层、初级抽样单元、加权校准）得到，"
              "分母自由度为初级抽样单元数−层数−G+1。表中p值未校正；两两比较的p值在同一规范、同一变量的全部群体对内校正。"
              "样本量少于{min_n}的群体不参加检验。",
        "en": "The test is on the practice score the chart shows. F = W/(G−1), where W is the "
              "Wald statistic of the groups' score differences with their covariance from the "
              "design's linearisation (strata, PSUs, calibration), on PSUs − strata − G + 1 "
              "denominator degrees of freedom. The test p-values are unadjusted; pairwise "
              "p-values are adjusted over all pairs of the same norm and variable. Groups with "
              "fewer than {min_n} responses are left out of the tests.",
    },
    "col_item": {"zh": "题目", "en": "Item"},
    "dist_heading": {"zh": "{norm}：{wave}年各题答案分布", "en": "{norm}: answers to each question, {wave}"},
    "dist_caption_awareness": {
        "zh": "认知题：认为该行为重要程度的加权比例（95%置信区间）",
        "en": "Awareness: weighted share giving each answer on importance (95% CI)",
    },
    "dist_caption_practice": {
        "zh": "践行题：做到该行为频率的加权比例（95%置信区间）",
        "en": "Practice: weighted share giving each answer on how often (95% CI)",
    },
    "dist_na_col": {"zh": "不适用", "en": "Not applicable"},
    "dist_note": {
        "zh": "各答案比例为回答1–5的受访者中的加权比例，合计为100%；“不适用”单列，为看到该题并作答（含“不适用”）的受访者中选择“不适用”的加权比例，"
              "不计入其他答案的比例和得分。置信区间为基于设计、经对数几率变换的区间；n为回答1–5的人数。",
        "en": "Answer shares are weighted shares among those who answered 1–5 and add up to "
              "100%; “not applicable” is reported separately, as the weighted share of those "
              "shown the question who chose it, and is left out of the other shares and the "
              "scores. Intervals are design-based logit intervals; n is the number who answered "
              "1–5.",
    },
    "dist_na_unknown": {
        "zh": "本数据未单独记录“不适用”（旧格式导出将其记为空值），因此无法报告其比例。",
        "en": "These data do not record “not applicable” separately (an older export wrote it as "
              "an empty cell), so its share cannot be reported.",
    },
    "small_note": {
        "zh": "“—”：该群体样本量少于{min_n}，估计值不予报告。",
        "en": "“—”: fewer than {min_n} responses in the group; estimate suppressed.",
    },
    "alpha_intro": {"zh": "量表内部一致性（Cronbach's α）：", "en": "Scale reliability (Cronbach's α): "},
    "alpha_item": {"zh": "{kind}{a}（{n}题）", "en": "{kind} {a} ({n} items)"},
    "alpha_single": {"zh": "{kind}仅1题，不适用", "en": "{kind}: a single item, not applicable"},
    "wording_changed_note": {
        "zh": "注：该规范的条文在2018年版与2023年版之间有修改（{groups}），跨版本比较需谨慎。",
        "en": "Note: this norm's official wording changed between the 2018 and 2023 versions "
              "({groups}); compare across versions with care.",
    },
    "nc_change": {
        "zh": "{kind}未与{base}年比较，因为{reasons}；题目或措辞不同的得分不可比，故不报告变化。",
        "en": "{kind}: not compared with {base} because {reasons}; scores built on different "
              "items or wording are not comparable, so no change is reported.",
    },
    "nc_trend": {
        "zh": "{kind}未报告{first}–{last}年线性趋势，因为{reasons}；题目或措辞不同的得分不可比，"
              "图中不同措辞之间不连线。",
        "en": "{kind}: no linear trend is reported for {first}–{last} because {reasons}; scores "
              "built on different items or wording are not comparable, so the chart does not "
              "join them.",
    },
    "nc_common_change": {
        "zh": "{kind}的变化仅按{base}年与{wave}年共有的题目计算（不含{items}），因为{reasons}。",
        "en": "{kind}: the change is computed on the items {base} and {wave} share (without "
              "{items}) because {reasons}.",
    },
    "nc_common_trend": {
        "zh": "{kind}的{first}–{last}年线性趋势仅按各轮共有的题目计算（不含{items}），因为{reasons}；"
              "图中为各轮全部题目的得分，不同措辞之间不连线。",
        "en": "{kind}: the {first}–{last} linear trend is computed on the items all waves share "
              "(without {items}) because {reasons}; the chart shows each wave's full score, not "
              "joined across the change.",
    },
    "norm_table_caption_levels": {"zh": "{wave}年估计值", "en": "Estimates for {wave}"},
    "norm_table_caption": {
        "zh": "{wave}年估计值及与{base}年的比较",
        "en": "Estimates for {wave} and change since {base}",
    },
    # --- subgroup variables and categories ---------------------------------------------------
    "var_sex": {"zh": "性别", "en": "Sex"},
    "var_age_group": {"zh": "年龄组", "en": "Age group"},
    "var_region": {"zh": "地区", "en": "Region"},
    "var_urban_rural": {"zh": "城乡", "en": "Urban/rural"},
    "var_education": {"zh": "受教育程度", "en": "Education"},
    "var_province": {"zh": "省份", "en": "Province"},
    "cat_sex_male": {"zh": "男", "en": "Men"},
    "cat_sex_female": {"zh": "女", "en": "Women"},
    "cat_age_group_15-24": {"zh": "15–24岁", "en": "15–24"},
    "cat_age_group_18-24": {"zh": "18–24岁", "en": "18–24"},
    "cat_age_group_15-19": {"zh": "15–19岁", "en": "15–19"},
    "cat_age_group_20-24": {"zh": "20–24岁", "en": "20–24"},
    "cat_age_group_25-34": {"zh": "25–34岁", "en": "25–34"},
    "cat_age_group_35-44": {"zh": "35–44岁", "en": "35–44"},
    "cat_age_group_45-54": {"zh": "45–54岁", "en": "45–54"},
    "cat_age_group_55-64": {"zh": "55–64岁", "en": "55–64"},
    "cat_age_group_65+": {"zh": "65岁及以上", "en": "65 and over"},
    "cat_region_east": {"zh": "东部", "en": "East"},
    "cat_region_central": {"zh": "中部", "en": "Central"},
    "cat_region_west": {"zh": "西部", "en": "West"},
    "cat_region_northeast": {"zh": "东北", "en": "Northeast"},
    "cat_urban_rural_urban": {"zh": "城镇", "en": "Urban"},
    "cat_urban_rural_rural": {"zh": "乡村", "en": "Rural"},
    "cat_education_below_primary": {"zh": "未上过小学", "en": "Below primary"},
    "cat_education_below_primary_residual": {"zh": "未上过小学", "en": "Below primary"},
    "cat_education_primary": {"zh": "小学", "en": "Primary"},
    "cat_education_junior_secondary": {"zh": "初中", "en": "Junior secondary"},
    "cat_education_senior_secondary": {"zh": "高中（含中专）", "en": "Senior secondary"},
    "cat_education_university": {"zh": "大专及以上", "en": "University (college and above)"},
    # --- indicator table ----------------------------------------------------------------------
    "table_note": {
        "zh": "表中为加权估计值（0–100分），括号内为标准误。",
        "en": "Weighted estimates (0–100 points); standard errors in parentheses.",
    },
    "table_break_note": {
        "zh": "†：该轮次的题目或措辞与{wave}年不同，不能与{wave}年直接比较（原因见各规范页和附录）。",
        "en": "†: that wave's items or wording differ from {wave}'s, so it is not directly "
              "comparable with {wave} (the norm's page and the annex say why).",
    },
    # --- methodology annex --------------------------------------------------------------------
    "m_sample": {"zh": "样本与调查时间", "en": "Samples and fieldwork"},
    "m_col_responses": {"zh": "完成问卷", "en": "Completed"},
    "m_col_excluded": {"zh": "质量剔除", "en": "Excluded"},
    "m_col_analysed": {"zh": "分析样本", "en": "Analysed"},
    "m_col_fieldwork": {"zh": "调查时间", "en": "Fieldwork"},
    "m_col_version": {"zh": "规范版本", "en": "Norms version"},
    "m_col_deff": {"zh": "平均设计效应（各题均值）", "en": "Mean design effect (item means)"},
    "m_col_moe": {"zh": "践行总指数误差范围（±分）",
                  "en": "Practice index margin of error (± points)"},
    "m_fieldwork_range": {"zh": "{start}至{end}", "en": "{start} to {end}"},
    "m_unknown": {"zh": "不详", "en": "not known"},
    "m_exclusions": {"zh": "作答质量剔除", "en": "Response-quality exclusions"},
    "m_exclusions_text": {
        "zh": "以下问卷不纳入分析：作答过快、同一页题目全部选择相同答案（直线作答）或未通过注意力检验。"
              "一份问卷可能同时有多个标记，因此各列之和可能大于剔除总数。",
        "en": "Responses flagged as speeders, straight-liners (the same answer across a whole grid "
              "page) or failing the attention check are excluded. A response can carry several "
              "flags, so the columns may add up to more than the number excluded.",
    },
    "flag_speeder": {"zh": "作答过快", "en": "Speeders"},
    "flag_straightliner": {"zh": "直线作答", "en": "Straight-liners"},
    "flag_attention": {"zh": "注意力检验未通过", "en": "Failed attention check"},
    "m_weighting": {"zh": "加权", "en": "Weighting"},
    "m_weighting_text": {
        "zh": "每一轮次的样本分别用迭代比例拟合（raking）将权重校准到下列人口边际分布。"
              "标准误考虑了校准的影响。",
        "en": "Each wave is weighted on its own by raking (iterative proportional fitting) to the "
              "population margins below. Standard errors allow for the "
              "calibration.",
    },
    "m_weighting_none": {
        "zh": "报告使用数据中已有的权重，未重新校准。",
        "en": "The report uses the weights already in the data; no re-raking.",
    },
    "m_weighting_unweighted": {
        "zh": "未使用权重（各问卷权重相等）。",
        "en": "No weights were used (every response counts equally).",
    },
    "m_col_target": {"zh": "目标比例", "en": "Target share"},
    "m_col_source": {"zh": "来源", "en": "Source"},
    "m_convergence": {
        "zh": "{wave}年：迭代{it}次收敛，最大边际相对误差{err}；最大权重与最小权重之比为{ratio}。",
        "en": "{wave}: converged in {it} iterations, largest relative margin error {err}; "
              "largest-to-smallest weight ratio {ratio}.",
    },
    "m_about": {"zh": "关于本报告", "en": "About this report"},
    "m_publisher": {"zh": "发布机构", "en": "Published by"},
    "m_contact": {"zh": "联系方式", "en": "Contact"},
    "m_citation": {"zh": "引用格式", "en": "How to cite"},
    "m_about_missing": {
        "zh": "报告计划未提供发布机构、联系方式或引用格式中的某些项，本报告不作补充。",
        "en": "The report plan does not give all of the publisher, a contact and a citation; "
              "the report does not supply them.",
    },
    "m_mode_text": {
        "zh": "调查方式：{mode}。样本来源：{source}。",
        "en": "Survey mode: {mode}. Sample source: {source}.",
    },
    "mode_online_self_completion": {"zh": "网络自填问卷", "en": "online self-completion questionnaire"},
    "mode_face_to_face": {"zh": "面访", "en": "face-to-face interviews"},
    "mode_telephone": {"zh": "电话访问", "en": "telephone interviews"},
    "mode_mixed": {"zh": "多种方式混合", "en": "mixed modes"},
    "source_opt_in": {
        "zh": "自愿参与（看到调查链接的公众自行选择是否作答），非概率样本",
        "en": "opt-in (members of the public who saw the survey link chose to answer); not a "
              "probability sample",
    },
    "source_online_panel": {
        "zh": "网络样本库（样本库成员受邀作答），非概率样本",
        "en": "online panel (panel members invited to answer); not a probability sample",
    },
    "source_probability": {"zh": "概率抽样", "en": "probability sample"},
    "m_fieldwork": {"zh": "调查进行情况", "en": "Fieldwork"},
    "m_fieldwork_text": {
        "zh": "开始作答：同意参加后开始答题的人数；完成：提交全部问卷的人数；中途退出 = 开始 − 完成（调查仍在进行时包括尚未完成者）；完成率 = 完成 ÷ 开始。数据来自调查系统导出的调查进行情况汇总。",
        "en": "Started: responses that began after consent; completed: responses submitted in "
              "full; broken off = started − completed (including those still in progress while "
              "the wave is open); completion rate = completed ÷ started. From the fieldwork "
              "summary exported with the data.",
    },
    "m_col_open": {"zh": "开放时间", "en": "Open"},
    "m_col_responses_dates": {"zh": "首份至末份回答", "en": "First to last response"},
    "m_col_started": {"zh": "开始作答", "en": "Started"},
    "m_col_completed": {"zh": "完成", "en": "Completed"},
    "m_col_broken_off": {"zh": "中途退出", "en": "Broken off"},
    "m_col_completion_rate": {"zh": "完成率", "en": "Completion rate"},
    "m_fieldwork_wave_missing": {"zh": "该轮次无调查进行情况汇总", "en": "no fieldwork summary for this wave"},
    "m_fieldwork_missing": {
        "zh": "数据未附调查进行情况汇总（开始作答、完成和中途退出人数），故无法报告完成率。",
        "en": "The data came without a fieldwork summary (responses started, completed and "
              "broken off), so the completion rate is not available.",
    },
    "m_caveats": {"zh": "目标值说明：", "en": "Notes on the targets:"},
    "m_caveat_item": {"zh": "{variable}：{text}", "en": "{variable}: {text}"},
    "m_weights_caption": {"zh": "各轮次最终权重的诊断", "en": "Diagnostics of each wave's final weights"},
    "m_col_n_eff": {"zh": "有效样本量", "en": "Effective n"},
    "m_col_kish": {"zh": "加权设计效应（Kish）", "en": "Design effect of weighting (Kish)"},
    "m_col_wmin": {"zh": "最小权重", "en": "Smallest weight"},
    "m_col_wmax": {"zh": "最大权重", "en": "Largest weight"},
    "m_col_wratio": {"zh": "最大/最小", "en": "Largest / smallest"},
    "m_col_trimmed": {"zh": "截尾权重数", "en": "Weights trimmed"},
    "m_weights_text": {
        "zh": "Kish加权设计效应 = n·Σw²/(Σw)²，有效样本量 = (Σw)²/Σw² = n ÷ 设计效应：即权重与答案无关时，与加权样本精度相当的等权样本量。"
              "它只反映权重不等带来的精度损失；各估计值的标准误另外考虑了分层、整群和校准。",
        "en": "Kish's design effect of weighting is n·Σw²/(Σw)² and the effective sample size "
              "(Σw)²/Σw² = n ÷ that design effect: the number of equally weighted responses that "
              "would give the same precision if the weights were unrelated to the answers. It "
              "measures only the precision lost to unequal weights; the estimates' standard "
              "errors also allow for strata, clusters and calibration.",
    },
    "m_no_trimming": {"zh": "权重未经截尾。", "en": " No weights were trimmed."},
    "m_nonprob": {"zh": "样本性质与结果的解读", "en": "What kind of sample this is, and what that means"},
    "m_nonprob_text": {
        "zh": "本调查的样本来源为{source}。受访者不是按已知概率从总体中抽取的，而是自行选择参加，因此不能依据抽样理论推断总体。"
              "加权只使样本在上述已知边际分布（如性别、年龄组、地区）上与人口一致；在其他方面，自愿参加者可能仍与总体不同"
              "（例如更关心环境、更常上网），这种自选择偏差无法由加权消除，其大小也无法从数据中估计。"
              "报告中的标准误和置信区间在所采用的模型下描述抽样变异，不包括覆盖不全或自选择带来的偏差，因此实际不确定性大于置信区间所示。"
              "同一方法下各轮次之间的比较受这种偏差的影响较小，但只有在各轮次参加者的构成以相同方式偏离总体时才成立。",
        "en": "The sample source is {source}. Respondents were not drawn from the population "
              "with known probabilities; they chose to take part, so sampling theory does not "
              "by itself support inference to the population. Weighting makes the sample match "
              "the known margins above (such as sex, age group and region) and nothing more: "
              "volunteers may still differ from the population in other ways (for example, "
              "caring more about the environment or being online more), and weighting cannot "
              "remove this self-selection bias, whose size the data cannot measure. Standard "
              "errors and confidence intervals describe sampling variability under the model "
              "used; they do not cover coverage or self-selection bias, so the real uncertainty "
              "is larger than the intervals show. Comparisons between waves made the same way "
              "are less affected, but only as far as each wave's volunteers depart from the "
              "population in the same way.",
    },
    "m_design": {"zh": "抽样设计与方差估计", "en": "Design and variance estimation"},
    # --- questionnaire annex ------------------------------------------------------------------
    "sec_questionnaire": {"zh": "附录：问卷题目", "en": "Annex: questionnaire"},
    "q_intro": {
        "zh": "下表列出报告所涵盖各轮次问卷的全部题目：题目措辞、答案选项、措辞版本及询问该版本的轮次。同一题目措辞有变更时，各版本分列。",
        "en": "Every question of the waves in this report: its wording, its answers, its wording "
              "version and the waves that asked that version. A question whose wording changed "
              "has one row per version.",
    },
    "q_col_wording": {"zh": "题目措辞", "en": "Wording"},
    "q_col_answers": {"zh": "答案选项", "en": "Answers"},
    "q_col_version": {"zh": "措辞版本", "en": "Wording version"},
    "q_col_waves": {"zh": "询问轮次", "en": "Asked in"},
    "q_many_options": {"zh": "从{n}个选项中选择一项", "en": "one of {n} options"},
    "q_answer": {"zh": "{code} {label}", "en": "{code} {label}"},
    "q_answer_sep": {"zh": " · ", "en": " · "},
    "q_na_sep": {"zh": "；", "en": "; "},
    "q_waves": {"zh": "{waves}年", "en": "{waves}"},
    "m_design_text": {
        "zh": "每一轮次作为独立的抽样设计（分层：{strata}；初级抽样单元：{psu}；权重：{weight}）。"
              "标准误用泰勒线性化法计算（初级抽样单元有放回抽样近似），置信区间为95%正态区间。"
              "设计效应为设计方差与同样本量简单随机抽样方差之比。",
        "en": "Each wave is its own design (strata: {strata}; primary sampling units: {psu}; "
              "weight: {weight}). Standard errors use Taylor linearisation (with-replacement "
              "first stage); confidence intervals are 95% normal intervals. The design effect is "
              "the design variance over the variance of a simple random sample of the same size.",
    },
    "m_none": {"zh": "无", "en": "none"},
    "m_used": {"zh": "有", "en": "used"},
    "m_indicators": {"zh": "指标定义", "en": "Indicators"},
    "m_indicators_text": {
        "zh": "认知得分与践行得分：每条规范的认知题（重要性，5级）和践行题（频率，5级）先将答案1–5换算为0–100分，"
              "再对该规范的各题取平均；“不适用”视为缺失。知行差距为认知得分减践行得分。认知总指数和践行总指数分别为十条规范认知得分和践行得分的平均，总知行差距为两者之差。"
              "各得分的标准误由组合得分的线性化计算，而非各题标准误的简单平均。",
        "en": "Awareness and practice scores: each norm's awareness items (importance, 5 points) "
              "and practice items (frequency, 5 points) are rescaled from 1–5 to 0–100 and "
              "averaged over the norm's items; “not applicable” counts as missing. The gap is "
              "awareness minus practice. The overall awareness and practice indices average the "
              "ten norms' scores; the overall gap is their difference. "
              "Standard errors come from linearisation of the combined score, not from averaging "
              "item standard errors.",
    },
    "m_tests": {"zh": "比较与趋势", "en": "Comparisons and trends"},
    "m_tests_text": {
        "zh": "各轮次为独立样本：差值的标准误为两轮标准误平方和的平方根，p值取自正态分布。多重比较按族分别作"
              "{adj}校正：3项总指数的变化为一族，各规范得分（认知、践行和知行差距）的变化为另一族；报告中"
              "每个p值都注明是否经过校正及所属的族。线性趋势为以调查年份为自变量的加权回归，按层内初级抽样"
              "单元计算聚类稳健标准误，总指数的趋势与各规范得分的趋势同样分为两族作{adj}校正。群体差异的"
              "检验（各群体践行得分相等的Wald检验）报告未校正的p值，两两差异在同一规范和同一分组变量内"
              "作{adj}校正。",
        "en": "Waves are independent samples: the standard error of a difference is the square "
              "root of the sum of the two squared standard errors, and p-values are normal. "
              "Multiple testing is corrected by {adj} within families: the changes of the 3 "
              "headline indices are one family, the changes of the norm scores (each norm's "
              "awareness, practice and gap) another; every p-value in the report says whether "
              "it is adjusted and over which family. Linear trends are weighted regressions on "
              "survey year with standard errors robust to clustering by primary sampling unit "
              "within strata; the trends of the headline indices and of the norm scores are "
              "again two families corrected by {adj}. The subgroup tests (a Wald test that the "
              "groups' practice scores are equal) report unadjusted p-values; their pairwise "
              "differences are corrected by {adj} within each norm and grouping variable.",
    },
    "m_trend_raking": {
        "zh": "加权经过校准时，趋势的标准误将校准后的权重视为固定值（未计入校准带来的方差缩减，略偏保守）；"
              "各轮次估计值的标准误则考虑了校准。",
        "en": "With raked weights, the trend standard errors treat the raked weights as fixed "
              "(they leave out the variance reduction from calibration, so they are slightly "
              "conservative); the per-wave estimates' standard errors allow for the raking.",
    },
    "m_moe": {"zh": "不同群体规模的误差范围", "en": "Margin of error by subgroup size"},
    "m_moe_text": {
        "zh": "表中为样本量为n的群体其得分估计的95%误差范围（±分），按{wave}年各规范践行得分的标准误推算"
              "（各规范“标准误×√样本量”的中位数，即已含设计效应），假定群体的设计效应与全样本相同。"
              "样本量少于{min_n}的群体估计不予报告。",
        "en": "95% margin of error (± points) of a score estimated for a group of n responses, "
              "scaled from the standard errors of the {wave} practice scores (median over norms "
              "of SE × √n, which includes the design effect), assuming the group has the same "
              "design effect as the whole sample. Groups with fewer than {min_n} responses are "
              "not reported.",
    },
    "m_col_moe_row": {"zh": "误差范围（±分）", "en": "Margin of error (± points)"},
    "m_below_min": {"zh": "低于最小样本量，不予报告", "en": "below the minimum n: not reported"},
    "col_note": {"zh": "说明", "en": "Note"},
    "m_comparability": {"zh": "可比性说明", "en": "Comparability"},
    "m_comparability_none": {
        "zh": "各轮次使用相同的题目和措辞版本，全部可比。",
        "en": "All waves used the same items and wording versions; everything is comparable.",
    },
    "cmp_wording_changed": {
        "zh": "{norm}：该规范条文在2018年版与2023年版之间有修改（{groups}；规范编号不变，主题相同）。",
        "en": "{norm}: the norm's official wording changed between the 2018 and 2023 versions "
              "({groups}; same code, same topic).",
    },
    "cmp_items_dropped": {
        "zh": "{norm}：问卷定义了题目{item}，但数据中没有这些题目的回答（{detail}年），该得分由其余题目计算。",
        "en": "{norm}: the questionnaire defines {item} but the data have no answers to them "
              "(waves {detail}); the score uses the other items.",
    },
    "cmp_not_comparable": {
        "zh": "{item}：{waves}年之间不作比较，因为{reasons}。",
        "en": "{item}: not compared across {waves} because {reasons}.",
    },
    "nc_change_other": {
        "zh": "{kind}未与{base}年比较：两轮的题目或措辞版本不一致。",
        "en": "{kind}: not compared with {base}: the two waves' items or wording versions differ.",
    },
    "cmp_not_comparable_other": {
        "zh": "{item}：{waves}年之间题目或措辞版本不同，不作比较。",
        "en": "{item}: not compared across {waves} ({detail}).",
    },
    "cmp_no_trends": {
        "zh": "未估计线性趋势：没有在全部轮次之间可比的指标。",
        "en": "No linear trends: no indicator is comparable across all the waves ({detail}).",
    },
    "cmp_norm_version": {
        "zh": "各轮次依据的规范版本（年份：版本）：{detail}。两版规范编号N01–N10对应相同主题。",
        "en": "Ten Norms version followed by each wave (wave: version): {detail}. Codes N01–N10 "
              "denote the same topics in both versions.",
    },
    "m_software": {"zh": "计算软件", "en": "Software"},
    "m_software_self": {"zh": "本项目分析程序{version}版", "en": "the project's analysis code {version}"},
    "m_software_text": {
        "zh": "本报告全部数字由分析程序包根据数据自动计算生成（{versions}）；中文字体：{font}。",
        "en": "Every number in this report was computed from the data by the analysis package "
              "({versions}); CJK typeface: {font}.",
    },
}


def translator(lang: str) -> Callable[..., str]:
    """Return ``_(key, **values)`` for ``lang``: the string, formatted with ``values``."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not supported; use one of {', '.join(LANGUAGES)}")

    def _(key: str, **values) -> str:
        try:
            text = STRINGS[key][lang]
        except KeyError:
            raise KeyError(f"no {lang} text for report string {key!r}") from None
        return text.format(**values) if values else text

    return _


def category_label(variable: str, category: str, lang: str) -> str:
    """Reader's label of a category value (``"age_group"``, ``"65+"`` → ``"65岁及以上"``).

    An unknown category (a new code the item bank added) is shown as its value rather than failing.
    """
    entry = STRINGS.get(f"cat_{variable}_{category}")
    return entry[lang] if entry else str(category)


def variable_label(variable: str, lang: str) -> str:
    entry = STRINGS.get(f"var_{variable}")
    return entry[lang] if entry else variable
