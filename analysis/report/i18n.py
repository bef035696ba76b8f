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
        "zh": "{wave}年{kind}总指数为{value}分（95%置信区间{lo}–{hi}），较{base}年上升{diff}分（{p}）。",
        "en": "The overall {kind} index stands at {value} in {wave} (95% CI {lo}–{hi}), "
              "up {diff} points since {base} ({p}).",
    },
    "sum_index_down": {
        "zh": "{wave}年{kind}总指数为{value}分（95%置信区间{lo}–{hi}），较{base}年下降{diff}分（{p}）。",
        "en": "The overall {kind} index stands at {value} in {wave} (95% CI {lo}–{hi}), "
              "down {diff} points since {base} ({p}).",
    },
    "sum_index_stable": {
        "zh": "{wave}年{kind}总指数为{value}分（95%置信区间{lo}–{hi}），与{base}年相比保持稳定"
              "（变化{diff}分，{p}，不显著）。",
        "en": "The overall {kind} index stands at {value} in {wave} (95% CI {lo}–{hi}), stable "
              "since {base} (change {diff} points, {p}, not significant).",
    },
    "sum_index_only": {
        "zh": "{wave}年{kind}总指数为{value}分（95%置信区间{lo}–{hi}）。",
        "en": "The overall {kind} index stands at {value} in {wave} (95% CI {lo}–{hi}).",
    },
    "kindidx_awareness": {"zh": "认知", "en": "awareness"},
    "kindidx_practice": {"zh": "践行", "en": "practice"},
    "kindidx_gap": {"zh": "知行差距", "en": "knowledge–action gap"},
    "sum_change_up": {
        "zh": "{norm}：{kind}较{base}年上升{diff}分（{p}）。",
        "en": "{norm}: {kind} rose {diff} points since {base} ({p}).",
    },
    "sum_change_down": {
        "zh": "{norm}：{kind}较{base}年下降{diff}分（{p}）。",
        "en": "{norm}: {kind} fell {diff} points since {base} ({p}).",
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
              "线性趋势同样按校正后的p值判断。得分范围为0–100分。",
        "en": "Only changes significant after {adj} correction for multiple comparisons "
              "(α = {alpha}) are called rises or falls; all others are reported as stable. "
              "Linear trends are judged on corrected p-values too. Scores run from 0 to 100.",
    },
    "adj_holm": {"zh": "Holm法", "en": "Holm"},
    "adj_bh": {"zh": "Benjamini–Hochberg法", "en": "Benjamini–Hochberg"},
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
    "col_p": {"zh": "p值（校正后）", "en": "p (adjusted)"},
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
        "zh": "{first}–{last}年线性趋势：{kind}每年{slope}分（标准误{se}，{p}；校正后{p_adj}）。",
        "en": "Linear trend {first}–{last}, {kind}: {slope} points a year (SE {se}, {p}; "
              "adjusted {p_adj}).",
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
        "zh": "各践行题答案与群体变量关联的Rao–Scott校正F检验（p值）",
        "en": "Rao–Scott corrected F tests of association between each practice item's answers "
              "and each subgroup variable (p-values)",
    },
    "col_item": {"zh": "题目", "en": "Item"},
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
    "m_design": {"zh": "抽样设计与方差估计", "en": "Design and variance estimation"},
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
        "zh": "各轮次为独立样本：差值的标准误为两轮标准误平方和的平方根，p值取自正态分布，并对同一报告中的全部比较作"
              "{adj}多重比较校正。线性趋势为以调查年份为自变量的加权回归，按层内初级抽样单元计算聚类稳健标准误，"
              "其p值对报告中的全部趋势同样作{adj}校正。",
        "en": "Waves are independent samples: the standard error of a difference is the square "
              "root of the sum of the two squared standard errors, p-values are normal, and all "
              "comparisons in the report are corrected for multiple testing by {adj}. Linear "
              "trends are weighted regressions on survey year with standard errors robust to "
              "clustering by primary sampling unit within strata; their p-values are corrected "
              "by {adj} over all trends in the report.",
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
