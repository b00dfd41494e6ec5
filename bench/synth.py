"""Synthetic Chinese consulting documents (cases, SOPs, lessons) for the scale benchmark.

Markdown with YAML front matter, built from sentence templates and vocabularies; deterministic
for a seed (each document has its own `random.Random` seeded from the seed and its index, so a
smaller corpus is a prefix of a larger one), network-free and fast (pure string building).

    python bench/synth.py --docs N --out DIR [--seed S]

From Python: `documents(count, seed)` yields `(file_name, markdown)`, `write_corpus(folder,
count, seed)` writes them (at most 1,000 files per subfolder) and returns the characters
written; `count = chunks // CHUNKS_PER_DOC` documents give about `chunks` chunks.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

# Chunks per document, measured with the project's ingest (400-character chunks, hash embedder)
# over the first 1,000 documents of seed 7: 10,007 chunks (10.3 per case, 9.3 per SOP, 8.9 per
# lesson). Files average ~3,470 characters (front matter included; ~3,280 of extracted text):
# characters / 400 would say 8.7, but chunks end at sentence ends and never cross a section.
CHUNKS_PER_DOC = 10
# What a consultant would ask of such a library (used by the scale and recall benches).
QUERIES = [
    "供应商交付不准时 库存周转慢",
    "门店人效低 排班不合理",
    "医院门诊排队时间长",
    "数字化转型 数据口径不一致",
    "组织架构调整 绩效考核",
    "成本控制 采购降本",
    "风险合规 内控审计",
    "项目复盘 经验教训",
    "客户流失率上升 会员运营",
    "仓储物流 配送时效",
    "战略规划 新业务进入",
    "财务共享中心 费用报销",
    "生产线良品率 精益改善",
    "销售预测不准 计划协同",
    "信息系统上线 用户培训",
]
FILES_PER_FOLDER = 1000
CHUNK_BUDGET = (345, 395)  # characters of body text per expected chunk in a section
TWO_CHUNK_SHARE = 0.45  # share of prose sections sized for two chunks instead of one
OPTIONAL_SHARE = 0.35  # SOPs with a FAQ section, lessons with a follow-up section


def _lines(text: str) -> tuple[str, ...]:
    """One phrase per non-empty line."""
    return tuple(line.strip() for line in text.strip().splitlines() if line.strip())


@dataclass(frozen=True)
class Metric:
    """A business indicator: values drawn in [low, high], `better` is "up" or "down"."""

    name: str
    unit: str
    low: float
    high: float
    better: str
    decimals: int = 0


@dataclass(frozen=True)
class Industry:
    name: str
    kinds: tuple[tuple[str, str], ...]  # (noun in prose and titles, legal-name stem)
    sites: tuple[str, ...]
    products: tuple[str, ...]
    pains: tuple[str, ...]
    metrics: tuple[Metric, ...]
    systems: tuple[str, ...]
    tags: tuple[str, ...]
    caution: str


@dataclass(frozen=True)
class Service:
    name: str
    topics: tuple[str, ...]
    methods: tuple[str, ...]
    deliverables: tuple[str, ...]
    sop_topics: tuple[str, ...]
    tags: tuple[str, ...]


M = Metric
INDUSTRIES: tuple[Industry, ...] = (
    Industry(
        "制造业",
        (
            ("汽车零部件企业", "汽车零部件有限公司"),
            ("精密五金企业", "精密五金制品有限公司"),
            ("工程机械企业", "工程机械股份有限公司"),
            ("家用电器企业", "电器股份有限公司"),
            ("电子元器件企业", "电子科技有限公司"),
            ("化工新材料企业", "新材料股份有限公司"),
            ("光伏组件企业", "光伏科技有限公司"),
        ),
        _lines("工厂\n生产基地\n车间\n事业部"),
        _lines("冲压件\n注塑件\n线束总成\n电机\n控制器\n精密结构件\n涂层材料"),
        _lines("""
            订单交付周期长，准时交付率长期徘徊在八成以下
            原材料和在制品库存高企，呆滞物料占用了大量资金
            设备综合效率偏低，换型时间长，产能利用不充分
            产品质量波动大，客户投诉和退货频繁
            制造费用分摊粗放，产品的真实成本说不清楚
            产销计划脱节，紧急插单频繁打乱生产节奏
            一线员工流失率高，关键工序技能出现断层
            采购集中度低，供应商管理松散，议价能力弱
        """),
        (
            M("库存周转天数", "天", 45, 120, "down"),
            M("准时交付率", "%", 62, 85, "up", 1),
            M("设备综合效率（OEE）", "%", 48, 70, "up", 1),
            M("一次交检合格率", "%", 88, 96, "up", 1),
            M("换型时间", "分钟", 45, 180, "down"),
            M("呆滞物料金额", "万元", 800, 5000, "down"),
        ),
        _lines("ERP\nMES\nWMS\nPLM\nSRM"),
        _lines("精益生产\n质量管理\n供应链"),
        "现场安全规程、劳保用品和车间准入要求",
    ),
    Industry(
        "零售",
        (
            ("连锁便利店集团", "便利连锁有限公司"),
            ("区域商超企业", "商业连锁股份有限公司"),
            ("服装零售企业", "服饰股份有限公司"),
            ("家居建材连锁企业", "家居连锁有限公司"),
            ("母婴连锁企业", "母婴用品连锁有限公司"),
            ("生鲜连锁企业", "生鲜超市有限公司"),
            ("药品零售连锁企业", "大药房连锁有限公司"),
        ),
        _lines("门店\n区域仓\n旗舰店\n社区店"),
        _lines("生鲜\n日化\n自有品牌商品\n季节性商品\n标准化快消品"),
        _lines("""
            门店缺货与积压并存，补货主要依赖店长经验
            坪效连续三年下滑，部分老店长期亏损
            会员活跃度低，复购率明显低于同行
            生鲜损耗率居高不下，侵蚀了大部分毛利
            线上线下价格与库存不统一，顾客投诉增多
            新店爬坡期过长，拓店节奏被迫放缓
            促销依赖度高，促销期外销量明显回落
            店长能力参差不齐，门店执行标准难以统一
        """),
        (
            M("缺货率", "%", 6, 12, "down", 1),
            M("坪效", "元/平方米/月", 900, 2600, "up"),
            M("会员复购率", "%", 18, 35, "up", 1),
            M("生鲜损耗率", "%", 4, 12, "down", 1),
            M("库存周转天数", "天", 30, 70, "down"),
            M("新店盈亏平衡周期", "个月", 10, 24, "down"),
        ),
        _lines("POS 系统\n会员系统\n自动补货系统\nWMS\n数据中台"),
        _lines("门店运营\n会员管理\n库存管理\n品类管理"),
        "顾客个人信息和会员数据的保密要求",
    ),
    Industry(
        "金融",
        (
            ("城市商业银行", "城市商业银行股份有限公司"),
            ("农村商业银行", "农村商业银行股份有限公司"),
            ("财产保险公司", "财产保险股份有限公司"),
            ("证券公司", "证券股份有限公司"),
            ("消费金融公司", "消费金融有限公司"),
            ("融资租赁公司", "融资租赁有限公司"),
        ),
        _lines("分行\n支行\n营业部\n分公司"),
        _lines("小微贷款\n信用卡\n财富管理产品\n车险\n零售信贷\n供应链金融"),
        _lines("""
            不良贷款率持续上升，风险预警明显滞后
            零售客户流失严重，管理资产规模增长乏力
            授信审批流程冗长，客户体验差，优质客户被同业抢走
            网点产能不均，人均效能偏低
            监管报送数据质量差，多次收到监管提示
            产品同质化严重，定价能力弱
            合规检查疲于应付，内控缺陷整改迟迟不能闭环
        """),
        (
            M("不良贷款率", "%", 1.8, 3.5, "down", 2),
            M("小微贷款审批时长", "天", 5, 15, "down", 1),
            M("零售客户管理资产规模", "亿元", 80, 600, "up"),
            M("网点人均存款", "万元", 2000, 8000, "up"),
            M("客户流失率", "%", 8, 20, "down", 1),
            M("监管报送差错率", "%", 0.5, 3, "down", 2),
        ),
        _lines("核心系统\n信贷管理系统\n风险数据集市\nCRM\n反洗钱系统"),
        _lines("风险管理\n零售转型\n合规管理"),
        "客户金融信息和监管数据的保密要求",
    ),
    Industry(
        "医疗健康",
        (
            ("民营专科医院", "专科医院有限公司"),
            ("医药流通企业", "医药有限公司"),
            ("连锁体检机构", "健康管理有限公司"),
            ("医疗器械经销企业", "医疗器械有限公司"),
            ("生物医药企业", "生物医药股份有限公司"),
            ("连锁口腔机构", "口腔医疗管理有限公司"),
        ),
        _lines("院区\n门诊部\n体检中心\n分公司"),
        _lines("门诊服务\n体检套餐\n创新药\n高值耗材\n康复服务"),
        _lines("""
            患者候诊时间长，满意度持续走低
            药耗占比偏高，医保控费压力越来越大
            科室成本核算缺失，哪些科室盈利说不清楚
            医生绩效与诊疗质量脱钩，过度检查时有发生
            集采之后主力产品价格大幅下降，利润空间被压缩
            病案首页质量差，直接影响按病种付费的结算
            新院区爬坡缓慢，床位使用率长期偏低
        """),
        (
            M("平均候诊时间", "分钟", 40, 90, "down"),
            M("床位使用率", "%", 55, 78, "up", 1),
            M("药占比", "%", 28, 45, "down", 1),
            M("患者满意度", "分", 78, 88, "up", 1),
            M("病案首页合格率", "%", 70, 90, "up", 1),
            M("平均住院日", "天", 7, 12, "down", 1),
        ),
        _lines("HIS\n电子病历系统\nLIS\n成本核算系统\nDRG 分析平台"),
        _lines("医院运营\n医保控费\n绩效管理"),
        "患者隐私数据的脱敏处理和医疗数据的使用边界",
    ),
    Industry(
        "能源",
        (
            ("城市燃气集团", "燃气集团有限公司"),
            ("电力企业", "电力股份有限公司"),
            ("光伏电站运营企业", "新能源发电有限公司"),
            ("风电开发企业", "风力发电有限公司"),
            ("油品销售企业", "石油销售有限公司"),
            ("储能企业", "储能科技有限公司"),
        ),
        _lines("场站\n电站\n加油站\n区域公司"),
        _lines("管道燃气\n分布式光伏\n储能项目\n成品油\n综合能源服务"),
        _lines("""
            设备非计划停机频繁，检修计划经常被打乱
            安全隐患排查流于形式，整改闭环率低
            新项目投资回报测算粗糙，投后评价缺失
            购销差价收窄，传统业务盈利承压
            运维人员分散，调度效率低，响应时间长
            碳排放数据统计口径不一致，披露工作被动
            新能源项目并网屡次延期，收益不及预期
        """),
        (
            M("非计划停机次数", "次/年", 20, 60, "down"),
            M("发电利用小时数", "小时", 1100, 1500, "up"),
            M("度电运维成本", "分", 3, 9, "down", 1),
            M("安全隐患整改闭环率", "%", 60, 85, "up", 1),
            M("供销差率", "%", 3, 8, "down", 2),
            M("故障平均修复时间", "小时", 6, 30, "down", 1),
        ),
        _lines("SCADA 系统\n生产管理系统\n设备资产管理系统\n碳管理平台\n智能巡检平台"),
        _lines("安全生产\n资产管理\n双碳"),
        "场站安全规程、动火作业和进入生产区域的审批要求",
    ),
    Industry(
        "物流",
        (
            ("快运企业", "快运股份有限公司"),
            ("冷链物流企业", "冷链物流有限公司"),
            ("城市配送企业", "城配物流有限公司"),
            ("合同物流企业", "供应链管理有限公司"),
            ("跨境物流企业", "国际物流有限公司"),
            ("港口物流企业", "港口物流集团有限公司"),
        ),
        _lines("分拨中心\n仓库\n网点\n转运中心"),
        _lines("零担运输\n整车运输\n冷链仓配\n快递\n供应链一体化服务"),
        _lines("""
            车辆空驶率高，回程货源组织能力弱
            分拨中心操作效率低，错分率居高不下
            末端时效不稳定，大客户多次提出考核扣款
            运价体系混乱，部分大客户实际处于亏损状态
            仓储利用率低，旺季却又爆仓
            外包运力管理失控，服务质量难以保障
            货损理赔金额逐年上升
        """),
        (
            M("车辆空驶率", "%", 25, 40, "down", 1),
            M("准时送达率", "%", 85, 93, "up", 1),
            M("单票成本", "元", 3, 9, "down", 2),
            M("仓容利用率", "%", 55, 75, "up", 1),
            M("错分率", "‰", 1.5, 5, "down", 1),
            M("货损率", "%", 0.3, 1.2, "down", 2),
        ),
        _lines("TMS\nWMS\nOMS\n路由规划系统\n智能调度平台"),
        _lines("网络规划\n运输管理\n仓储管理"),
        "客户货物信息和收寄件人个人信息的保密要求",
    ),
    Industry(
        "互联网",
        (
            ("电商平台企业", "网络科技有限公司"),
            ("本地生活服务平台", "信息技术有限公司"),
            ("企业 SaaS 服务商", "软件股份有限公司"),
            ("内容社区平台", "文化传媒有限公司"),
            ("在线旅游平台", "旅行网络科技有限公司"),
            ("游戏企业", "互动娱乐有限公司"),
        ),
        _lines("事业部\n业务线\n区域运营中心\n产品中心"),
        _lines("会员订阅\n广告产品\n交易佣金\nSaaS 订阅\n增值服务"),
        _lines("""
            获客成本持续攀升，投放回报越来越低
            新用户留存率下滑，活跃用户规模停滞
            研发交付节奏慢，业务需求大量积压
            组织快速膨胀，跨部门协作低效
            商业化路径不清晰，亏损逐年扩大
            数据口径混乱，各部门的指标相互打架
            企业客户续费率低，销售团队疲于拉新
        """),
        (
            M("获客成本", "元", 80, 300, "down"),
            M("次月留存率", "%", 20, 40, "up", 1),
            M("需求交付周期", "天", 20, 60, "down"),
            M("客户续费率", "%", 55, 80, "up", 1),
            M("人均营收", "万元", 80, 250, "up"),
            M("付费转化率", "%", 1.5, 6, "up", 1),
        ),
        _lines("数据中台\n埋点系统\nCRM\n研发管理平台\nBI 平台"),
        _lines("增长运营\n组织效能\n数据治理"),
        "用户个人信息的收集、使用授权和数据出境要求",
    ),
    Industry(
        "教育",
        (
            ("职业教育机构", "职业培训学校有限公司"),
            ("民办高校", "教育投资有限公司"),
            ("素质教育机构", "文化艺术培训有限公司"),
            ("教育科技企业", "教育科技有限公司"),
            ("国际学校集团", "教育集团有限公司"),
        ),
        _lines("校区\n学习中心\n分校\n教学点"),
        _lines("学历提升课程\n职业技能培训\n素质课程\n在线课程\n企业内训"),
        _lines("""
            招生成本高，线索转化率低
            学员续费率下滑，老生推荐几乎停滞
            教师流失率高，教学质量不稳定
            校区盈利分化严重，部分校区连续亏损
            政策变化频繁，部分业务面临合规风险
            课程体系陈旧，毕业生就业率不理想
        """),
        (
            M("招生转化率", "%", 8, 20, "up", 1),
            M("学员续费率", "%", 45, 70, "up", 1),
            M("教师流失率", "%", 15, 30, "down", 1),
            M("单校区利润率", "%", 3, 15, "up", 1),
            M("毕业生就业率", "%", 70, 90, "up", 1),
            M("单个学员获客成本", "元", 1500, 5000, "down"),
        ),
        _lines("教务系统\nCRM\n在线学习平台\n排课系统"),
        _lines("招生运营\n师资管理\n课程体系"),
        "学员及未成年人个人信息的保护要求",
    ),
    Industry(
        "房地产",
        (
            ("住宅开发企业", "置业有限公司"),
            ("商业地产企业", "商业管理有限公司"),
            ("物业服务企业", "物业服务股份有限公司"),
            ("产业园区运营企业", "园区发展有限公司"),
            ("长租公寓企业", "公寓管理有限公司"),
            ("城市更新企业", "城市更新投资有限公司"),
        ),
        _lines("项目公司\n城市公司\n在管项目\n园区"),
        _lines("住宅项目\n购物中心\n写字楼\n物业服务\n产业园"),
        _lines("""
            项目开发周期长，资金周转速度慢
            去化率低，部分项目库存积压严重
            成本超支频发，动态成本失控
            物业费收缴率低，多个项目收支倒挂
            商业项目出租率下滑，租金持续承压
            总部与城市公司权责不清，决策链条过长
        """),
        (
            M("开盘去化率", "%", 35, 60, "up", 1),
            M("开发周期", "个月", 18, 30, "down"),
            M("目标成本偏差率", "%", 5, 15, "down", 1),
            M("物业费收缴率", "%", 75, 92, "up", 1),
            M("出租率", "%", 70, 90, "up", 1),
            M("应收账款周转天数", "天", 60, 150, "down"),
        ),
        _lines("成本管理系统\n营销管理系统\n物业管理平台\n计划管理系统"),
        _lines("成本管理\n营销去化\n物业服务"),
        "业主个人信息和项目未公开经营数据的保密要求",
    ),
    Industry(
        "消费品",
        (
            ("乳制品企业", "乳业股份有限公司"),
            ("休闲食品企业", "食品股份有限公司"),
            ("白酒企业", "酒业股份有限公司"),
            ("日化企业", "日用化学品有限公司"),
            ("饮料企业", "饮品有限公司"),
            ("美妆企业", "化妆品有限公司"),
        ),
        _lines("经销商\n销售大区\n工厂\n办事处"),
        _lines("新品\n大单品\n礼盒装产品\n电商专供款\n区域特色产品"),
        _lines("""
            经销商库存高企，渠道压货问题严重
            新品成功率低，研发投入难以收回
            市场费用投放效果无法衡量
            电商与线下渠道价格冲突，经销商怨言较多
            SKU 过多，长尾产品拖累供应链效率
            品牌形象老化，在年轻客群中认知度低
            终端动销慢，陈列和促销执行不到位
        """),
        (
            M("渠道库存天数", "天", 45, 90, "down"),
            M("新品成功率", "%", 10, 25, "up", 1),
            M("市场费用率", "%", 18, 30, "down", 1),
            M("在售 SKU 数量", "个", 400, 1200, "down"),
            M("终端动销率", "%", 50, 75, "up", 1),
            M("毛利率", "%", 28, 45, "up", 1),
        ),
        _lines("经销商管理系统\nCRM\n数据中台\n费用管理系统"),
        _lines("渠道管理\n品牌管理\n营销费用"),
        "经销商政策和未上市产品信息的保密要求",
    ),
)

SERVICES: tuple[Service, ...] = (
    Service(
        "战略咨询",
        _lines("三年战略规划\n业务组合优化\n区域扩张战略\n新业务孵化规划\n集团管控模式设计"),
        _lines("行业对标分析\n五力模型分析\n业务组合矩阵\n情景规划\n战略解码\n平衡计分卡"),
        _lines("三年战略规划报告\n战略解码手册\n集团管控权责手册\n重点举措路线图"),
        _lines("行业研究\n战略研讨会组织\n高管访谈\n战略解码工作坊"),
        _lines("战略规划\n集团管控\n对标分析"),
    ),
    Service(
        "运营优化",
        _lines("供应链降本\n精益运营提升\n库存优化\n流程再造\n采购降本\n产销协同"),
        _lines(
            "价值流图分析\nABC 分类管理\n安全库存模型\n产销协同（S&OP）机制\n品类采购策略\n标准作业程序"
        ),
        _lines("库存管理制度\n产销协同运行手册\n采购品类策略手册\n标准作业指导书"),
        _lines("现场写实与工时测定\n价值流分析\n库存数据分析\n流程梳理工作坊"),
        _lines("供应链\n流程优化\n成本控制"),
    ),
    Service(
        "组织与人力",
        _lines("组织架构优化\n绩效考核体系重构\n薪酬体系设计\n干部梯队建设\n人效提升"),
        _lines("岗位价值评估\n胜任力模型\nOKR 目标管理\n宽带薪酬\n人才盘点九宫格\n组织诊断问卷"),
        _lines("组织架构与部门职责说明书\n绩效考核管理办法\n薪酬管理制度\n干部任用管理办法"),
        _lines("岗位价值评估\n人才盘点\n员工访谈与问卷调研\n薪酬数据分析"),
        _lines("组织设计\n绩效管理\n薪酬激励\n人才发展"),
    ),
    Service(
        "数字化转型",
        _lines("数字化转型规划\n数据治理体系建设\n数据中台建设\n营销数字化\n流程自动化落地"),
        _lines("数据资产盘点\n企业架构规划\n主数据管理\n敏捷迭代\n用户旅程地图\n流程挖掘"),
        _lines("数字化转型蓝图\n数据标准管理办法\n系统需求规格说明书\n数据治理运行手册"),
        _lines("系统需求调研\n数据资产盘点\n系统选型评估\n上线切换"),
        _lines("数字化\n数据治理\n系统选型"),
    ),
    Service(
        "财务咨询",
        _lines("全面预算管理\n标准成本体系建设\n业财一体化\n资金集中管理\n经营分析体系建设"),
        _lines("作业成本法\n零基预算\n滚动预测\n杜邦分析\n量本利分析\n资金池管理"),
        _lines("全面预算管理制度\n成本核算手册\n经营分析报告模板\n资金管理办法"),
        _lines("预算编制辅导\n成本测算\n财务数据采集\n经营分析会组织"),
        _lines("预算管理\n成本核算\n经营分析"),
    ),
    Service(
        "风险合规",
        _lines(
            "全面风险管理体系建设\n内控体系优化\n合规管理体系建设\n数据合规评估\n反舞弊机制建设"
        ),
        _lines(
            "风险矩阵评估\n内控缺陷认定标准\n合规义务识别\n三道防线模型\n关键风险指标监测\n穿行测试"
        ),
        _lines("风险管理手册\n内部控制手册\n合规管理办法\n关键风险指标清单"),
        _lines("内控穿行测试\n合规义务识别\n风险评估访谈\n整改跟踪"),
        _lines("风险管理\n内部控制\n合规管理"),
    ),
)

REGION_CITIES: dict[str, tuple[str, ...]] = {
    "华东": _lines("上海\n苏州\n杭州\n宁波\n南京\n合肥\n无锡\n济南\n青岛"),
    "华南": _lines("广州\n深圳\n东莞\n佛山\n中山\n南宁\n厦门"),
    "华北": _lines("北京\n天津\n石家庄\n太原\n唐山"),
    "华中": _lines("武汉\n长沙\n郑州\n南昌\n洛阳"),
    "西南": _lines("成都\n重庆\n昆明\n贵阳\n绵阳"),
    "西北": _lines("西安\n兰州\n银川\n乌鲁木齐"),
    "东北": _lines("沈阳\n大连\n长春\n哈尔滨"),
}
REGIONS = tuple(REGION_CITIES)
ALIAS_FIRST = "恒瑞华鑫嘉远德盛安泰润宏博锦天中新和信联诚永佳隆昌启明卓汇凯"
ALIAS_SECOND = "锐丰达通源成辉宇兴海邦益福晟科创越航荣川"

DEPARTMENTS = _lines("""
    财务部
    采购部
    生产部
    信息技术部
    人力资源部
    市场部
    销售中心
    运营中心
    风险管理部
    战略发展部
    质量部
    客户服务中心
    供应链管理部
    法务合规部
    审计部
    总经理办公室
    计划部
    产品研发中心
""")
ROLES = _lines("""
    董事长
    总经理
    首席财务官
    首席运营官
    首席信息官
    人力资源总监
    运营副总裁
    分管副总经理
    财务总监
    战略发展部总经理
""")
PROCESS_STEPS = _lines("""
    计划编制
    需求预测
    审批流转
    绩效考核
    数据采集
    跨部门协同
    现场执行
    供应商管理
    客户分层
    费用核销
    信息传递
    异常处理
""")
LESSONS = _lines("""
    高层的持续参与是变革能够落地的前提
    试点单元的选择要兼顾代表性和成功概率
    数据基础决定了方案的上限，数据清理的工作量往往被低估
    方案必须与考核挂钩，否则很难改变一线的行为
    变革需要给一线留出适应期，推进过快容易出现反弹
    客户内部要有一支能够接手的种子团队
    跨部门问题必须配套明确的议事和决策机制
    先做减法再做加法，精简流程比增加管控更容易被接受
    指标口径要在项目早期统一，否则后续争议不断
    阶段成果要及时可视化，才能维持组织的信心
    方案设计要充分考虑客户现有系统的约束
    顾问的驻场投入要与客户方的投入相匹配
""")
MISTAKES = _lines("""
    对{system}的数据质量预判不足
    前期访谈覆盖面不够，遗漏了基层员工的声音
    与{dept}的沟通频次偏低，问题暴露较晚
    过早向客户承诺了量化目标
    试点周期压缩得过紧，没有覆盖完整的业务周期
    交接文档不够完整，客户团队接手时出现断档
""")
ADVICE = _lines("""
    统一指标口径和数据来源
    识别关键反对者并提前沟通
    明确客户方种子团队的名单和投入时间
    评估系统改造的工作量和排期
    设定分阶段、可验证的目标
    约定需求变更的审批流程
""")
CAUSES = _lines("""
    试点{site}的选择存在偏差，代表性不足
    项目前期对{system}的数据质量判断过于乐观
    客户方没有指定有决策权的项目负责人
    方案过度依赖少数关键人员
    项目范围在执行中不断扩大，却没有走变更流程
    考核机制没有同步调整，一线缺乏执行动力
    对{industry}特有的监管约束理解不足
    双方沟通频次不够，问题暴露明显滞后
""")
EVENTS = _lines("""
    试点{site}的核心指标突然出现反弹
    客户方{role}调岗，项目决策链被打断
    {system}上线后出现大面积数据错误
    {dept2}拒绝按新流程执行，双方关系一度紧张
    阶段汇报中客户高层对方案提出了根本性质疑
    推广后的效果远低于试点阶段
    客户临时将项目预算削减了 {pct_small}0%
    外部监管政策调整，原方案的部分内容不再适用
""")
FIXES = _lines("""
    按业务特征对{site}重新分群，并分别设定参数
    补充 {num} 个代表性{site}进行第二轮试点
    增加数据校验环节，在系统上线前完成全量核对
    与客户约定双周高层汇报机制
    引入正式的需求变更审批流程
    把关键做法沉淀为操作手册，减少对个人经验的依赖
""")
RULES = _lines("""
    试点方案须经项目总监评审
    数据质量评估是诊断阶段的必选动作
    范围变更必须经客户书面确认
    客户关键干系人变动须在 24 小时内上报
""")
SOP_PROBLEMS = _lines("""
    资料收集不完整
    访谈记录不规范
    结论缺乏数据支撑
    客户确认不及时
    交付物版本混乱
    指标口径前后不一致
""")
PRACTICES = _lines("质量管理部\n知识管理中心\n交付管理办公室\n{service_type}业务线")

CASE_TITLE = "{region}某{kind}{topic}项目"
SOP_TITLES = _lines("""
    {service_type}项目{topic}规范
    {service_type}项目{topic}操作指引
    {industry}客户{topic}标准流程
    {topic}工作手册
""")
LESSON_CAUSES = _lines("""
    试点{site}选择偏差
    数据质量预判不足
    客户关键人变动未及时应对
    需求范围持续蔓延
    考核机制未同步调整
    过早承诺量化目标
    跨部门协调机制缺失
    系统上线节奏过快
""")
LESSON_EFFECTS = _lines("""
    推广后效果大幅缩水
    项目延期两个月
    方案大面积返工
    客户满意度明显下降
    阶段验收受阻
    项目毛利大幅下滑
    一线执行出现反弹
""")

# Sentence templates per section kind. Slots are filled lazily (see _SLOTS); a filled value
# may itself contain slots. In kinds listed in LEAD the first templates always open the
# section; STEPS kinds keep their order, one paragraph each; LIST kinds are bullet lists.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "bg": _lines("""
        {client_full}（以下简称“{alias}”）是一家总部位于{city}的{kind}，主营{product}等业务，员工约 {employees} 人，{prev_year} 年营业收入约 {revenue} 亿元。
        近三年{alias}的收入年均增长 {pct}%，但{metric_bad}，管理层对盈利能力的下滑高度关注。
        随着行业竞争加剧，{alias}在{region}市场的份额被头部企业持续挤压，{role}希望借助外部力量系统梳理经营短板。
        {year} 年初，{alias}{role}提出要在 {months} 个月内完成{topic}工作，并把它列为年度重点任务。
        企业目前拥有 {sites} 个{site}，业务覆盖{region}及周边省份，但各{site}之间的管理方式差异较大。
        过去几年，{client}先后尝试过{method}等做法，但由于缺乏配套机制，效果没有持续下来。
        本项目由{role}亲自挂帅，{dept}牵头配合，我方项目组由 {consultants} 名顾问组成，周期约 {weeks} 周。
        从行业层面看，{industry}正处于从规模扩张转向精细化运营的阶段，{pain}已成为普遍难题。
        {client}的管理团队大多从业务一线成长起来，经验丰富，但对数据化管理工具接触不多。
        项目启动前，{client}已上线{system}，但系统中的数据主要用于记账和查询，很少用于经营决策。
    """),
    "pain": _lines("""
        访谈中，多位中层管理者反映{pain}，这已成为制约业务发展的首要问题。
        {dept}负责人坦言，{pain}，但各部门对问题根源的认识并不一致。
        数据显示，{metric_bad}，明显落后于行业平均水平。
        除此之外，{pain2}，进一步放大了经营压力。
        {role}的核心诉求有三点：一是尽快扭转{metric_name}持续恶化的局面；二是建立可持续的管理机制；三是培养一支能够自主运行的内部团队。
        一线员工普遍认为流程繁琐、职责不清，{dept}与{dept2}之间经常相互推诿。
        由于缺乏统一的数据口径，{dept}与{dept2}对同一指标的统计结果相差 {pct}% 以上，管理层难以据此决策。
        客户此前曾委托其他机构做过诊断，但方案停留在报告层面，{pain}的情况反而更加突出。
        在{site}层面，管理者每周要花大量时间填报各类报表，真正用于改善工作的时间不足两成。
        {role}在首次沟通时直言：“问题大家都知道，难的是谁来牵头、怎么落地。”
        从财务数据看，问题已经传导到利润端：{metric_bad}。
        {pain2}的问题同样突出，{dept}每月要为此额外投入大量人力处理异常。
    """),
    "diag": _lines("""
        项目组用 {weeks_small} 周时间完成现场诊断，访谈 {people} 人次，调阅了近 {years} 年的经营数据和{system}中的业务记录。
        通过{method}，项目组发现{pain}的根本原因在于流程断点和考核导向偏差，而非单纯的人员能力问题。
        对标分析显示，{alias}的{metric_name}与行业标杆相比存在 {pct}% 左右的差距。
        抽样检查 {samples} 份单据后发现，约 {pct}% 的记录存在字段缺失或口径不一，{system}中的基础数据可信度较低。
        进一步拆解后，问题主要集中在三个环节：{step_a}、{step_b}和{step_c}。
        {dept}的职责说明书已多年未更新，实际工作中约有 {pct}% 的事项处于无人负责或多头管理的状态。
        项目组绘制了端到端流程图，共识别出 {num} 个流程断点和 {num2} 项重复审批。
        诊断结论在 {year} 年 {month} 月的中期汇报会上得到{role}的认可，成为后续方案设计的基础。
        {site}之间的差异同样明显：表现最好的{site}与最差的{site}相比，{metric_name}相差接近一倍。
        在{step_a}环节，现行做法主要依靠个人经验，缺少书面标准，新员工上手通常需要 {months} 个月。
        项目组还对 {people} 名员工做了问卷调查，{pct_high}% 的受访者认为{step_b}环节的规则不清楚。
        从{system}导出的数据看，{metric_name}的月度波动幅度超过 {pct}%，说明过程控制基本处于失控状态。
    """),
    "sol": _lines("""
        针对上述问题，项目组提出以{method}为核心、{method2}为支撑的整体方案。
        方案设计遵循“先试点、后推广”的原则，首批选取 {sites} 个{site}作为试点单元。
        在机制层面，重新明确{dept}与{dept2}的权责边界，并建立周例会和月度复盘机制。
        在工具层面，依托{system}搭建指标看板，把{metric_name}等 {num} 项核心指标纳入日常跟踪。
        项目组编制了《{deliverable}》，对关键流程的输入、输出、责任人和完成时限作出明确规定。
        考核方面，将{metric_name}纳入{dept}负责人的绩效合同，权重由原来的 {w1}% 提高到 {w2}%。
        为了降低变革阻力，方案保留了部分原有做法作为过渡，并设置了 {months} 个月的并行期。
        方案经过 {num_small} 轮讨论修改，最终在{role}主持的决策会上获得通过。
        针对{step_a}环节，方案引入分级审批和限时办结要求，常规事项由{site}自行决策。
        人员方面，从{dept}和{dept2}抽调骨干组成常设推进小组，由{role}直接督办。
        数据方面，方案要求统一{metric_name}等关键指标的口径，由{dept}统一发布、按月校准。
        方案还设计了配套的激励措施：改善目标达成的{site}，可按节约金额的一定比例提取奖励。
    """),
    "impl": _lines("""
        第 1–{w_a} 周，项目组完成数据准备和试点方案细化，与{dept}逐项确认操作细则。
        第 {w_a}–{w_b} 周，试点{site}上线新流程，项目组顾问驻场辅导，每日收集问题清单。
        实施过程中最大的阻力来自{dept}，部分管理者担心新机制会影响自身考核，推进一度停滞。
        项目组及时调整节奏，请{role}在周例会上明确“首季度只看趋势、不做扣罚”，阻力随之化解。
        系统配置阶段发现{system}中约 {pct}% 的基础数据与实际不符，临时增加了 {weeks_small} 周的数据清理工作。
        项目期间共组织培训 {num} 场，覆盖{dept}、{dept2}等部门的骨干员工 {people} 人。
        试点结束后，项目组组织复盘会，固化了 {num} 项操作标准，并在其余{site}分 {num_small} 批推广。
        为保障推广质量，每个批次都指定一名内部推广负责人，由项目组提供远程答疑和月度检查。
        推广期间，项目组每周向{role}提交一页纸进展简报，列明完成事项、风险和需要协调的问题。
        在{step_b}环节，新旧流程并行运行了 {weeks_small} 周，确认数据一致后才正式切换。
        第 {w_b} 周起进入推广阶段，{dept}每周通报各{site}的执行情况，并对排名靠后的单位进行约谈。
        对于执行中暴露的问题，项目组建立了问题台账，累计登记 {num2} 项，截至项目结束已关闭 {pct_high}%。
    """),
    "res": _lines("""
        项目交付 {months} 个月后，{metric}。
        与项目启动前相比，{metric}，{metric2}。
        按双方确认的测算口径，项目每年可为{alias}节约成本约 {amount} 万元，释放资金占用约 {amount2} 万元。
        试点{site}的{metric_name}改善幅度明显高于非试点{site}，验证了方案的有效性。
        更重要的是，{dept}已经能够独立运行新机制，每月按时输出分析报告。
        {role}在验收会上评价，项目不仅改善了{metric_name}，更带来了管理方式上的转变。
        项目成果已被纳入{alias}下一年度的经营计划，并计划复制到其他{site}。
        截至项目结束，{metric}，超额完成了立项时设定的目标。
        员工层面，问卷显示对新流程“满意”和“比较满意”的比例达到 {pct_high}%。
        管理层用于协调跨部门问题的会议时间减少了约 {pct}%，决策速度明显加快。
        从财务结果看，{alias}当年的{metric}，这是近几年来的首次明显好转。
        {dept}反馈，过去需要 {days} 天才能完成的月度分析，现在一天之内即可出具。
    """),
    "take": _lines("""
        本项目的经验表明，{lesson}。
        回顾整个过程，{lesson}，这一点在{industry}项目中尤为重要。
        项目组也有不足之处：{mistake}，导致部分工作返工。
        后续同类项目建议在诊断阶段就{advice}。
        对于{industry}客户而言，{method}的价值不在工具本身，而在于能否与考核和例会机制结合。
        此外，{lesson}，建议在项目启动时就写入工作说明书。
        如果重新来过，项目组会更早地{advice}，并预留更充足的缓冲时间。
        {industry}客户普遍重视短期见效，因此在项目早期安排一到两个“速赢”举措十分必要。
        顾问的角色应逐步从“做”转向“教”，项目后半程要有意识地让客户团队唱主角。
        {lesson}；反过来，如果忽视这一点，再好的方案也可能在推广阶段走样。
        项目中期的一次关键转折来自{role}的亲自表态，这说明关键时刻高层的声音不可替代。
        {method}在本项目中效果明显，但它的前提是{system}中的数据足够可靠。
        从交付管理的角度看，每两周一次的客户高层沟通会有效避免了方向性偏差。
        这些经验已整理进公司{service_type}方法论，供后续项目参考。
    """),
    "next": _lines("""
        下一阶段，建议{alias}将新机制推广到全部{site}，并在 {months} 个月内完成{system}的配套改造。
        同时应持续跟踪{metric_name}等指标，每季度组织一次复盘，及时纠偏。
        从中长期看，{alias}还需要在{topic2}方面进一步投入，以巩固本项目的成果。
        建议由{dept}牵头建立内部改善小组，把项目方法沉淀为常态化的管理动作。
        对于尚未覆盖的{step_c}环节，可参照本项目的做法另行立项。
        对于已经上线的机制，建议每半年开展一次健康度评估，重点检查{step_a}环节的执行质量。
        如条件成熟，可考虑引入{method}，进一步提升管理的精细化水平。
        在组织保障上，建议将{metric_name}的改善纳入{dept}的年度目标，并与绩效挂钩。
        系统方面，建议优先打通{system}与{system2}之间的数据接口，减少人工导数。
        项目组将在 {months} 个月后进行一次回访，评估机制运行情况并提出优化建议。
    """),
    "purpose": _lines("""
        为规范{service_type}项目中{topic}环节的工作，统一交付标准，降低执行风险，特制定本规范。
        本规范总结了公司近 {years} 年在{industry}等行业的项目经验，重点解决过去常见的{sop_problem}问题。
        通过明确步骤、角色和输出物，帮助项目组在 {weeks_small} 周内高质量完成{topic}工作。
        本规范同时作为新入职顾问的培训材料，以及项目质量检查的依据。
        执行本规范的目标是让不同项目组的{topic}结果具有可比性，便于沉淀到知识库。
        过去一段时间，部分项目在{topic}环节出现{sop_problem}等情况，影响了客户对交付质量的评价。
        本规范明确了{topic}的最低要求；项目组可以结合客户情况适当加强，但不得降低标准。
        规范中的模板和示例均来自已完成的{industry}项目，使用前须按客户实际情况调整。
        执行本规范所需的工具和模板可在知识库的{service_type}专区下载。
        本规范所称{topic}，是指项目组为获取事实、形成判断而开展的一系列标准化工作。
        各项目组应将本规范的要求纳入项目计划，并在项目周报中报告执行情况。
    """),
    "scope": _lines("""
        本规范适用于公司所有合同金额 {contract} 万元以上、周期 {weeks} 周以上的{service_type}项目。
        小型项目可参照执行，部分步骤经项目总监批准后可以合并或简化。
        涉及{industry}客户的项目，还应同时遵守客户所在行业的监管要求和保密约定。
        对于跨区域、多{site}的项目，由项目经理统筹各子项目组统一执行本规范。
        与其他规范冲突时，以公司《项目管理总则》为准，并及时反馈给{practice}。
        对于以{method}为主要方法的项目，流程步骤可根据方法要求适当调整顺序。
        客户另有书面要求且严于本规范的，从其要求；宽于本规范的，仍按本规范执行。
        分包或联合交付的项目，合作方顾问同样适用本规范，由项目经理负责告知和监督。
        内部研究课题和售前方案阶段的{topic}工作，参照本规范执行。
        海外项目或涉及跨境数据传输的项目，还须遵守公司数据出境管理的相关规定。
        本规范自发布之日起施行，此前已启动的项目在下一个阶段开始时切换。
    """),
    "roles": _lines("""
        - **项目总监**：审定{topic}的计划和关键输出物，对交付质量负最终责任。
        - **项目经理**：统筹{topic}的组织实施，跟踪进度并协调客户方资源。
        - **项目顾问**：按本规范执行具体工作，负责记录、整理和初步分析。
        - **客户方对接人**：协调{dept}等相关部门参与，按时提供所需资料。
        - **质量管理部**：按季度抽查执行情况，对发现的问题下发整改通知。
        - **知识管理专员**：在项目结束后 {days} 个工作日内完成资料归档和脱敏。
        - **客户方项目发起人**：通常由{role}担任，负责重大事项决策和内部资源协调。
        - **行业专家**：对{industry}相关结论进行把关，必要时参加关键访谈和评审会。
    """),
    "steps": _lines("""
        第一步，准备阶段：明确{topic}的目标和范围，编制工作计划并提交项目经理审核。计划应列明时间节点、参与人员和需要客户配合的事项。
        第二步，资料收集：向客户发送资料需求清单，在 {days} 个工作日内完成收集和登记。缺失的资料要在清单中标注原因和预计提供时间。
        第三步，现场执行：按计划组织访谈、调研或研讨，每日形成纪要并当天发送给项目经理。关键访谈须由两名顾问共同参加。
        第四步，分析整理：运用{method}等方法对信息进行归纳，形成初步结论和待确认问题清单。每条结论都要注明数据或访谈来源。
        第五步，评审确认：先组织内部评审，再与客户方{role}确认关键结论，记录分歧点及处理意见。分歧较大的事项应升级到项目总监，必要时召开专题会。
        第六步，输出归档：形成《{deliverable}》，经项目总监签字后提交客户，并在知识库中登记归档。归档前须完成客户敏感信息的脱敏处理。
        第七步，回顾改进：项目结束后 {days} 个工作日内组织回顾，总结{topic}环节的得失。好的做法和典型问题要补充到本规范的案例库中。
    """),
    "notes": _lines("""
        访谈前须向受访者说明目的和保密安排，未经书面同意不得录音。
        涉及客户经营数据的文件只能存放在公司指定的加密目录中，严禁通过个人邮箱传输。
        对{industry}客户，应特别注意{caution}。
        如遇客户资料延迟提供超过 {days} 个工作日，项目经理应书面提示风险并调整计划。
        所有结论都须有数据或访谈记录支持，避免以个人经验代替事实判断。
        常见错误包括{sop_problem}，项目经理应在周检查中重点关注。
        同一事项在不同访谈中说法不一致时，应以{system}中的记录为准，并在纪要中注明差异。
        {topic}期间如需进入客户生产或办公现场，应提前办理准入手续，遵守客户的现场管理规定。
        对于客户提供的{system}导出数据，应记录导出时间、口径和提供人，避免后续出现版本争议。
        顾问不得就{topic}的结论向客户方非授权人员做出口头承诺。
        涉及客户员工个人评价的内容，只能在项目组内部讨论，不得写入对外交付物。
        如发现客户存在重大合规风险，应第一时间报告项目总监，不得自行与客户讨论处理方案。
        每次现场工作结束前，项目经理应清点借阅的客户资料，并办理归还手续。
    """),
    "records": _lines("""
        本流程的输出物包括《{deliverable}》、访谈纪要和问题清单，均须使用公司统一模板。
        纸质材料在项目结束后 {days} 个工作日内交还客户，或按规定在双方见证下销毁。
        电子文档按“项目编号—阶段—文档类型”的规则命名，并在知识库中登记。
        本规范由{practice}负责解释，每年评审一次，最近一次修订时间为 {year} 年 {month} 月。
        执行中发现的问题和改进建议，可通过知识库的反馈入口提交。
        每个项目的执行记录由项目经理在项目关闭前自查，质量管理部按 {pct_small}0% 的比例抽查。
        抽查发现缺失的记录，须在 {days} 个工作日内补齐，并计入项目质量评分。
        相关模板包括：资料需求清单、访谈提纲、会议纪要模板和问题跟踪表。
        访谈纪要须在访谈结束后 {days_small} 个工作日内定稿，并经受访者或客户对接人确认。
        项目关闭时，项目经理须在知识库中填写结项表，说明{topic}环节的执行情况和主要经验。
        归档资料的保存期限一般为五年，涉及机密信息的资料按公司保密制度另行管理。
    """),
    "lbg": _lines("""
        {year} 年，我们为{region}某{kind}（化名：{alias}）实施{topic}项目，目标是{metric_goal}。
        项目周期约 {weeks} 周，按照“诊断—方案—试点—推广”四个阶段推进，客户方由{role}担任项目发起人。
        {alias}拥有 {sites} 个{site}，{pain}，这也是客户启动项目的直接原因。
        项目组由 {consultants} 名顾问组成，其中两人有{industry}项目经验。
        立项时，双方在工作说明书中约定了{metric_name}的改善目标和验收口径。
        客户所在的{industry}行业近年来竞争加剧，{pain}，管理层希望通过项目找到突破口。
        项目启动时，{alias}的{metric_name}在同行中处于中下游水平，{role}对改善幅度寄予厚望。
        合同约定的交付物包括诊断报告、《{deliverable}》和试点总结报告。
        项目采用驻场与远程相结合的方式，顾问每周在客户现场工作三到四天。
        在此之前，{alias}曾在内部自行推动过类似改革，但因{cause}而半途而废。
        项目组在售前阶段对客户情况做过初步调研，判断项目难度中等、风险可控。
    """),
    "happened": _lines("""
        项目进行到第 {weeks_small} 个月时，{event}。
        起初项目组认为这只是个别现象，没有及时上报，直到{role}在例会上提出质疑。
        随后{dept}反馈，{event}，问题的性质开始变得严重。
        项目组连夜核对数据，发现{metric_name}的实际表现与汇报口径存在明显偏差。
        客户方要求在两周内给出书面解释和整改方案，项目进入紧急状态。
        在此期间，{dept}与{dept2}对责任归属各执一词，项目例会一度无法正常召开。
        阶段汇报会上，{role}直接指出：“试点的数字很好看，但我们在其他{site}看不到同样的变化。”
        项目组随后抽查了 {sites} 个{site}，发现其中近一半没有按新流程执行。
        与此同时，客户内部对项目的评价开始出现分歧，{dept}甚至提出暂停推广。
        {role}随即召集专题会，要求项目组在一周内给出问题原因和整改思路。
        复核数据显示，推广{site}的{metric_name}不仅没有改善，部分单位甚至有所恶化。
        一线员工反映，新流程增加了大量填报工作，很多人选择继续沿用旧的做法。
    """),
    "causes": _lines("""
        复盘发现，直接原因是{cause}。
        深层原因在于{cause}，而项目组在前期没有识别这一风险。
        此外，{cause2}，也在一定程度上放大了问题。
        项目组内部的分工也存在问题：项目经理同时负责 {num_small} 个项目，对关键节点把控不足。
        从流程上看，{step_a}环节缺少复核，错误一直传递到了最终结果。
        项目组在方案设计时主要参考了{industry}头部企业的做法，对{alias}的实际管理基础估计过高。
        访谈对象集中在管理层，一线{site}的声音没有被充分听到，方案的可执行性因此打了折扣。
        进度压力下，项目组跳过了内部评审环节，一些明显的假设错误没有被及时发现。
        客户方的考核周期是年度，而项目要求的是月度改善，两者之间的错配削弱了执行动力。
        {system}的功能限制导致新流程中的部分环节只能手工完成，执行质量难以保证。
        项目组对{dept}的诉求了解不够，方案设计中没有照顾到他们的实际困难。
    """),
    "impact": _lines("""
        该问题导致项目延期 {weeks_small} 周，额外投入顾问人天约 {mandays} 个。
        客户满意度评分从 {score_a} 分降至 {score_b} 分，续约谈判一度搁置。
        由于返工，项目毛利率比预算低了 {pct_small} 个百分点。
        在客户内部，{dept}对项目组的信任受到影响，后续推进明显变慢。
        所幸问题发现得比较早，{metric}，最终结果仍在可接受范围内。
        为弥补进度，项目组临时增派 {num_small} 名顾问驻场，项目成本明显上升。
        原定的第二阶段合作被客户推迟，预计影响合同金额约 {amount} 万元。
        由于推广节奏放缓，原计划覆盖的 {sites} 个{site}中，只有不到一半按期切换到新流程。
        更重要的是，问题暴露后客户内部对变革的信心受挫，部分已经推进的工作出现回潮。
        对公司而言，这个项目的延期挤占了后续项目的人力，连带影响了另外 {num_small} 个项目的启动时间。
        该客户的年度满意度调查中，“方案可落地性”一项的得分在所有项目中排名靠后。
    """),
    "fix": _lines("""
        项目组随即调整方案：{fix}。
        同时，{fix2}，并每周向{role}汇报进展。
        在公司层面，已将“{rule}”写入项目管理规范。
        质量管理部计划在下一季度对同类项目开展专项检查。
        调整之后的第二轮试点中，{metric}，客户认可了整改效果。
        对已推广的{site}，项目组逐一回访并补充培训，确保执行口径一致。
        项目组与{dept}共同制定了整改计划，明确 {num} 项整改任务的责任人和完成时间。
        整改期间，项目组每周发布一次简报，向客户方通报问题关闭情况。
        对于{system}的功能限制，项目组协调客户信息技术部排期改造，过渡期采用标准化表格替代。
        项目组调整了考核方案，将{metric_name}的考核周期由年度改为季度，并增设过程指标。
        在后续项目中，项目组把“{rule}”作为启动检查清单中的必选项。
    """),
    "faq": _lines("""
        问：客户迟迟不提供{system}中的原始数据怎么办？答：先由项目经理书面提示影响，再请客户方对接人协调，必要时升级到{role}。
        问：受访者不愿意谈论敏感问题怎么办？答：可以改为一对一访谈，并承诺纪要只保留观点、不标注姓名。
        问：{topic}的结论与客户高层的预期不一致怎么办？答：先与项目总监对齐口径，再准备充分的数据证据，单独向{role}汇报。
        问：项目时间紧张，可以跳过内部评审吗？答：不可以，但可以把评审改为线上会议，并缩短到一小时以内。
        问：多个{site}的数据口径不一致怎么处理？答：以{dept}确认的口径为准，并在分析报告中注明差异和调整方法。
        问：客户要求提前提交初步结论怎么办？答：可以提交，但须注明“初稿，仅供讨论”，并在后续版本中记录变更。
        问：顾问可以使用个人电脑处理客户资料吗？答：不可以，只能使用公司配发并安装了加密软件的电脑。
        问：客户方对接人频繁更换怎么办？答：每次更换都要重新确认资料清单和时间计划，并在周报中提示风险。
    """),
    "followup": _lines("""
        项目结束 {months} 个月后，项目组对{alias}进行了回访，{metric}。
        客户方反馈，整改后形成的《{deliverable}》已成为其内部的常规管理工具。
        本次教训已在公司内部分享会上讲解，并被纳入新顾问培训的案例库。
        知识管理中心将持续跟踪同类项目，检验改进措施的实际效果。
        “{rule}”这一要求在随后的 {num_small} 个项目中得到执行，尚未再出现类似问题。
        回访中，{role}表示，虽然过程曲折，但最终形成的机制对企业是有价值的。
        目前该客户已与公司续签了{topic2}项目，双方的合作关系得到修复。
        同类问题此后在{industry}项目中没有再出现，说明改进措施总体有效。
    """),
}
# Filler usable in any prose section once its own templates are used up.
TEMPLATES["filler"] = _lines("""
    这一判断在访谈中得到了{dept}多位员工的印证。
    值得注意的是，{site}一线人员对问题的感受往往比管理层更加直接。
    项目组把相关发现整理成问题清单，逐条明确责任部门和完成时限。
    相关数据均取自{system}，并与{dept}提供的台账进行了交叉核对。
    在这一过程中，{role}多次亲自参加讨论，为跨部门事项拍板。
    为避免口径争议，项目组与{dept}事先书面确认了{metric_name}的计算方法。
    这些做法在{industry}同类企业中已有成熟实践，可借鉴性较强。
    上述工作成果均已归档，供后续项目复用。
    项目组在每周例会上通报这方面的进展，并请{dept}对照检查。
    对于争议较大的事项，项目组坚持用数据说话，先试算、再讨论。
    {alias}内部对此也有不同声音，项目组通过多轮沟通逐步达成共识。
    从 {year} 年下半年开始，这项工作被纳入{role}的月度重点事项清单。
    类似的问题在{region}地区的{industry}企业中相当普遍。
    为便于一线理解，项目组把相关要求整理成一页纸的操作要点。
""")
TEMPLATES["sop_filler"] = _lines("""
    具体要求以公司最新发布的版本为准。
    项目经理应在项目启动会上向全体成员讲解本部分要求。
    执行过程中的例外情况须经项目总监书面批准，并在项目档案中留存。
    质量管理部会结合客户回访结果，定期评估本部分要求的执行效果。
    新入职顾问须在参与首个项目前完成本部分内容的学习和考核。
    对于{industry}项目，还应结合行业特点补充必要的检查项。
    本部分要求与公司《项目管理总则》和《保密管理办法》配套使用。
    项目总监在阶段评审时，应把本部分要求的落实情况作为评审内容之一。
    对执行效果好的项目组，公司将在年度评优中予以考虑。
    多次违反本部分要求的，按公司项目质量管理办法处理。
    客户方对本部分要求有疑问的，由项目经理负责解释和沟通。
    本部分内容会根据各项目的反馈持续修订完善。
""")
TEMPLATES["lesson_filler"] = _lines("""
    这一情况在项目周报中有过零星记录，但没有引起足够重视。
    项目组事后整理了完整的时间线，以便准确还原问题的演变过程。
    相关责任人均参加了复盘会，复盘结论经项目总监审定后归档。
    需要说明的是，客户方在这一过程中也给予了积极配合。
    类似情况在其他{industry}项目中也曾出现，值得引起普遍关注。
    复盘过程采用“只谈事、不追责”的原则，鼓励项目成员如实说明情况。
    回头来看，当时其实已经出现了一些预警信号，只是没有被串联起来。
    复盘会上，项目成员普遍认为问题并非不可避免。
    客户方{role}也参加了部分复盘讨论，提供了不少有价值的视角。
    以上情况已在项目档案中如实记录，供知识管理中心统一分析。
    这一点与公司近年来在其他{service_type}项目中观察到的规律一致。
    项目组对相关数据做了二次核对，确认结论没有偏差。
""")
TEMPLATES["lessons"] = TEMPLATES["take"]
SOP_KINDS = ("purpose", "scope", "notes", "records", "faq")
LESSON_KINDS = ("lbg", "happened", "causes", "impact", "fix", "lessons", "followup")
LEAD = {  # kind: how many of its first templates open the section, in order
    "bg": 1,
    "pain": 1,
    "diag": 1,
    "sol": 1,
    "impl": 2,
    "res": 1,
    "purpose": 1,
    "scope": 1,
    "lbg": 1,
    "happened": 1,
    "causes": 1,
    "fix": 1,
}
PER_DOC_SLOTS = ("w_a", "w_b", "weeks", "consultants")  # drawn once per document
STEPS = ("steps",)
LIST = ("roles",)
FIXED_SIZE = {"roles": 1}  # chunks a section is sized for, when not drawn

# (kind, heading alternatives); optional sections are decided per document type below.
CASE_SECTIONS = (
    ("bg", _lines("项目背景\n背景与目标\n客户概况")),
    ("pain", _lines("客户痛点\n客户诉求与痛点\n面临的挑战")),
    ("diag", _lines("诊断发现\n问题诊断与主要发现\n现状诊断")),
    ("sol", _lines("解决方案\n咨询方案\n方案设计")),
    ("impl", _lines("实施过程\n实施路径\n落地推进")),
    ("res", _lines("项目成效\n实施效果\n价值与成果")),
    ("take", _lines("经验教训\n经验总结\n项目启示")),
    ("next", _lines("后续建议\n下一步工作")),
)
SOP_SECTIONS = (
    ("purpose", ("目的",)),
    ("scope", ("适用范围",)),
    ("roles", ("职责", "角色与职责")),
    ("steps", ("流程步骤", "工作流程")),
    ("notes", ("注意事项", "关键控制点")),
    ("records", ("输出与记录", "记录与归档")),
    ("faq", ("常见问题", "常见问题解答")),
)
LESSON_SECTIONS = (
    ("lbg", ("背景", "项目背景")),
    ("happened", ("发生了什么", "事件经过")),
    ("causes", ("原因分析", "根因分析")),
    ("impact", ("影响", "造成的影响")),
    ("fix", ("改进措施", "整改措施")),
    ("lessons", ("经验总结", "给后续项目的建议")),
    ("followup", ("后续跟踪", "回访情况")),
)
NUMERALS = "一二三四五六七八九十"
STAGES = _lines("诊断\n方案\n实施\n交付\n复盘")


@dataclass
class _Doc:
    """What stays fixed within one document."""

    rng: random.Random
    industry: Industry
    service: Service
    region: str
    city: str
    kind: str
    legal: str
    alias: str
    topic: str
    year: int
    fixed: dict[str, str] = field(default_factory=dict)  # PER_DOC_SLOTS drawn so far
    fillers: dict[str, list[str]] = field(default_factory=dict)  # filler templates left
    decks: dict[str, list[str]] = field(default_factory=dict)  # see _deck


def _number(value: float, decimals: int = 0) -> str:
    """A number as written in the text: thousands separators, fixed decimals."""
    return f"{value:,.{decimals}f}"


def _with_unit(value: float, metric: Metric) -> str:
    text = _number(value, metric.decimals)
    return f"{text}{metric.unit}" if metric.unit in ("%", "‰") else f"{text} {metric.unit}"


def _gap(metric: Metric) -> str:
    """Space between a value and the next Chinese word: after `%`, not after `天`."""
    return " " if metric.unit in ("%", "‰") else ""


def _metric_values(doc: _Doc, metric: Metric) -> tuple[str, str]:
    """(before, after) of an improvement of the metric, formatted with its unit."""
    rng = doc.rng
    before = rng.uniform(metric.low, metric.high)
    if metric.better == "down":
        after = before * (1 - rng.uniform(0.12, 0.4))
    elif metric.unit == "%":
        gain = rng.uniform(0.15, 0.5)
        after = min(before * (1 + gain), before + (100 - before) * gain)
    else:
        after = before * (1 + rng.uniform(0.12, 0.45))
    return _with_unit(before, metric), _with_unit(after, metric)


GENERIC_METRICS = (
    M("净利润率", "%", 2, 9, "up", 1),
    M("人均产出", "万元", 60, 240, "up"),
    M("管理费用率", "%", 8, 16, "down", 1),
)


def _metric(doc: _Doc, slots: dict[str, str], key: str) -> Metric:
    """The metric of a slot; `metric2` differs from the sentence's first metric."""
    pool = doc.industry.metrics if doc.rng.random() < 0.85 else GENERIC_METRICS
    chosen = doc.rng.choice(pool)
    while key.endswith("2") and chosen.name == slots.get("_metric_name"):
        chosen = doc.rng.choice(doc.industry.metrics)
    slots.setdefault("_metric_name", chosen.name)
    return chosen


def _metric_change(doc: _Doc, slots: dict[str, str], key: str) -> str:
    metric = _metric(doc, slots, key)
    before, after = _metric_values(doc, metric)
    verbs = ("下降到", "降至", "压缩到") if metric.better == "down" else ("提升到", "提高到")
    return f"{metric.name}从 {before}{_gap(metric)}{doc.rng.choice(verbs)} {after}"


def _metric_bad(doc: _Doc, slots: dict[str, str], key: str) -> str:
    metric = _metric(doc, slots, key)
    bad, good = _metric_values(doc, metric)
    verbs = ("上升到", "攀升至", "增加到") if metric.better == "down" else ("下滑至", "跌至")
    gap = _gap(metric)
    return f"自 {doc.year - 3} 年以来{metric.name}从 {good}{gap}{doc.rng.choice(verbs)} {bad}"


def _metric_goal(doc: _Doc, slots: dict[str, str], key: str) -> str:
    metric = _metric(doc, slots, key)
    before, after = _metric_values(doc, metric)
    if metric.better == "down":
        return f"把{metric.name}从 {before}{_gap(metric)}降到 {after} 以内"
    return f"把{metric.name}从 {before}{_gap(metric)}提升到 {after} 以上"


Slot = Callable[[_Doc, dict[str, str]], str]


def _deck(name: str, items: Callable[[_Doc], tuple[str, ...]]) -> Slot:
    """A slot dealt from a per-document shuffled deck (reshuffled when empty), so that a
    phrase comes back within a document only once all the others have been used."""

    def deal(doc: _Doc, _slots: dict[str, str]) -> str:
        deck = doc.decks.get(name)
        if not deck:
            deck = doc.decks[name] = list(items(doc))
            doc.rng.shuffle(deck)
        return deck.pop()

    return deal


def _distinct(
    doc: _Doc, slots: dict[str, str], items: tuple[str, ...], avoid: tuple[str, ...]
) -> str:
    """One of items, different from the values of the sentence's `avoid` slots."""
    taken = [slots[key] for key in avoid if key in slots]
    value = doc.rng.choice(items)
    while value in taken:
        value = doc.rng.choice(items)
    return value


def _pick(items: tuple[str, ...], *avoid: str) -> Slot:
    """A slot filled from items, different from the sentence's `avoid` slots."""
    return lambda doc, slots: _distinct(doc, slots, items, avoid)


def _int(low: int, high: int, step: int = 1) -> Slot:
    return lambda doc, _slots: _number(doc.rng.randrange(low, high + 1, step))


def _of_doc(pick: Callable[[_Doc], tuple[str, ...]], *avoid: str) -> Slot:
    """A slot filled from a vocabulary of the document's industry or service."""
    return lambda doc, slots: _distinct(doc, slots, pick(doc), avoid)


_SLOTS: dict[str, Slot] = {
    "alias": lambda doc, _s: doc.alias,
    "client": lambda doc, _s: doc.rng.choice((doc.alias, doc.alias, doc.alias, "客户", "该企业")),
    "client_full": lambda doc, _s: f"{doc.region}某{doc.legal}",
    "region": lambda doc, _s: doc.region,
    "city": lambda doc, _s: doc.city,
    "kind": lambda doc, _s: doc.kind,
    "industry": lambda doc, _s: doc.industry.name,
    "service_type": lambda doc, _s: doc.service.name,
    "topic": lambda doc, _s: doc.topic,
    "topic2": _of_doc(lambda d: d.service.topics, "topic"),
    "year": lambda doc, _s: str(doc.year),
    "prev_year": lambda doc, _s: str(doc.year - 1),
    "month": _int(1, 12),
    "product": _of_doc(lambda d: d.industry.products),
    "site": _of_doc(lambda d: d.industry.sites),
    "pain": _deck("pain", lambda d: d.industry.pains),
    "pain2": _deck("pain", lambda d: d.industry.pains),
    "system": _of_doc(lambda d: d.industry.systems, "system2"),
    "system2": _of_doc(lambda d: d.industry.systems, "system"),
    "caution": lambda doc, _s: doc.industry.caution,
    "method": _of_doc(lambda d: d.service.methods, "method2"),
    "method2": _of_doc(lambda d: d.service.methods, "method"),
    "deliverable": _of_doc(lambda d: d.service.deliverables),
    "metric": lambda doc, s: _metric_change(doc, s, "metric"),
    "metric2": lambda doc, s: _metric_change(doc, s, "metric2"),
    "metric_bad": lambda doc, s: _metric_bad(doc, s, "metric_bad"),
    "metric_goal": lambda doc, s: _metric_goal(doc, s, "metric_goal"),
    "metric_name": lambda doc, s: _metric(doc, s, "metric_name").name,
    "dept": _pick(DEPARTMENTS, "dept2"),
    "dept2": _pick(DEPARTMENTS, "dept"),
    "role": _pick(ROLES),
    "step_a": _pick(PROCESS_STEPS, "step_b", "step_c"),
    "step_b": _pick(PROCESS_STEPS, "step_a", "step_c"),
    "step_c": _pick(PROCESS_STEPS, "step_a", "step_b"),
    "lesson": _deck("lesson", lambda _d: LESSONS),
    "mistake": _deck("mistake", lambda _d: MISTAKES),
    "advice": _deck("advice", lambda _d: ADVICE),
    "cause": _deck("cause", lambda _d: CAUSES),
    "cause2": _deck("cause", lambda _d: CAUSES),
    "event": _deck("event", lambda _d: EVENTS),
    "fix": _deck("fix", lambda _d: FIXES),
    "fix2": _deck("fix", lambda _d: FIXES),
    "rule": _pick(RULES),
    "sop_problem": _pick(SOP_PROBLEMS),
    "practice": _pick(PRACTICES),
    "employees": _int(300, 20000, 10),
    "revenue": lambda doc, _s: _number(doc.rng.uniform(1.2, 150), 1),
    "pct": _int(5, 45),
    "pct_small": _int(2, 9),
    "pct_high": _int(72, 94),
    "people": _int(12, 90),
    "sites": _int(3, 60),
    "consultants": _int(3, 9),
    "weeks": _int(8, 26),
    "weeks_small": _int(2, 5),
    "months": _int(2, 12),
    "years": _int(2, 5),
    "samples": _int(100, 800, 10),
    "num": _int(3, 15),
    "num2": _int(5, 30),
    "num_small": _int(2, 4),
    "w1": _int(5, 15),
    "w2": _int(20, 35),
    "w_a": _int(2, 4),
    "w_b": _int(6, 12),
    "amount": _int(150, 5000, 10),
    "amount2": _int(500, 12000, 50),
    "contract": lambda doc, _s: doc.rng.choice(("30", "50", "80", "100")),
    "days": _int(3, 10),
    "days_small": _int(1, 3),
    "mandays": _int(20, 120),
    "score_a": _int(86, 95),
    "score_b": _int(65, 80),
}


class _Slots(dict[str, str]):
    """Slot values of one sentence, drawn on first use (so in template order)."""

    def __init__(self, doc: _Doc) -> None:
        super().__init__()
        self.doc = doc

    def __missing__(self, key: str) -> str:
        if key in PER_DOC_SLOTS:
            fixed = self.doc.fixed
            value = fixed[key] = fixed.get(key) or _SLOTS[key](self.doc, self)
        else:
            value = _SLOTS[key](self.doc, self)
        if "{" in value:
            value = value.format_map(self)
        self[key] = value
        return value


def _fill(doc: _Doc, template: str) -> str:
    return template.format_map(_Slots(doc))


def _filler_kind(kind: str) -> str:
    if kind in SOP_KINDS:
        return "sop_filler"
    return "lesson_filler" if kind in LESSON_KINDS else "filler"


def _filler_deck(doc: _Doc, kind: str) -> list[str]:
    """The document's filler templates for a section kind not used yet, in a drawn order."""
    name = _filler_kind(kind)
    if name not in doc.fillers:
        deck = list(TEMPLATES[name])
        doc.rng.shuffle(deck)
        doc.fillers[name] = deck
    return doc.fillers[name]


def _sentences(doc: _Doc, kind: str, budget: int) -> list[str]:
    """Sentences of a section until the budget is reached: its own templates (each at most
    once, the LEAD ones first), then filler templates not used elsewhere in the document."""
    templates = TEMPLATES[kind]
    head = list(templates[: LEAD.get(kind, 0)])
    rest = list(templates[len(head) :])
    doc.rng.shuffle(rest)
    deck = [] if kind in LIST else _filler_deck(doc, kind)
    out: list[str] = []
    used = 0
    for template in [*head, *rest, *deck[:4]]:
        sentence = _fill(doc, template)
        if out and used + len(sentence) > budget:
            continue
        out.append(sentence)
        used += len(sentence)
        if template in deck:
            deck.remove(template)
        if budget - used < 25:
            break
    return out


def _paragraphs(doc: _Doc, kind: str, sentences: list[str]) -> str:
    """Section body: a bullet list, one paragraph per step, or 1-3 prose paragraphs."""
    if kind in LIST:
        return "\n".join(sentences)
    if kind in STEPS:
        return "\n\n".join(sentences)
    count = min(doc.rng.randint(1, 3), len(sentences))
    cuts = sorted(doc.rng.sample(range(1, len(sentences)), count - 1))
    bounds = [0, *cuts, len(sentences)]
    return "\n\n".join("".join(sentences[a:b]) for a, b in pairwise(bounds))


def _section(doc: _Doc, kind: str) -> str:
    if kind in STEPS:  # the whole procedure, in order
        return _paragraphs(doc, kind, [_fill(doc, template) for template in TEMPLATES[kind]])
    chunks = FIXED_SIZE.get(kind) or (2 if doc.rng.random() < TWO_CHUNK_SHARE else 1)
    budget = chunks * doc.rng.randint(*CHUNK_BUDGET)
    return _paragraphs(doc, kind, _sentences(doc, kind, budget))


def _outline(doc: _Doc, doc_type: str) -> list[tuple[str, str]]:
    """(kind, heading) of each section, numbered in the style of the document type."""
    rng = doc.rng
    if doc_type == "sop":
        chosen = SOP_SECTIONS[: 7 if rng.random() < OPTIONAL_SHARE else 6]
        return [(k, f"{i}. {rng.choice(h)}") for i, (k, h) in enumerate(chosen, 1)]
    if doc_type == "lesson":
        chosen = LESSON_SECTIONS[: 7 if rng.random() < OPTIONAL_SHARE else 6]
        return [(k, rng.choice(h)) for k, h in chosen]
    chosen = list(CASE_SECTIONS[:7])
    roll = rng.random()
    if roll < 0.2:
        chosen.pop(rng.choice((1, 6)))  # no pain points or no takeaways: 6 sections
    elif roll < 0.45:
        chosen.append(CASE_SECTIONS[7])  # with next steps: 8 sections
    return [(k, f"{NUMERALS[i]}、{rng.choice(h)}") for i, (k, h) in enumerate(chosen)]


def _weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    roll = rng.random()
    for value, share in options:
        roll -= share
        if roll < 0:
            return value
    return options[-1][0]


def _title(doc: _Doc, doc_type: str) -> str:
    if doc_type == "sop":
        return _fill(doc, doc.rng.choice(SOP_TITLES))
    if doc_type == "lesson":
        cause = doc.rng.choice(LESSON_CAUSES)
        return _fill(doc, f"{cause}导致{doc.rng.choice(LESSON_EFFECTS)}")
    return _fill(doc, CASE_TITLE)


def _new_doc(rng: random.Random, doc_type: str) -> _Doc:
    industry = rng.choice(INDUSTRIES)
    service = rng.choice(SERVICES)
    region = rng.choice(REGIONS)
    kind, legal = rng.choice(industry.kinds)
    alias = rng.choice(ALIAS_FIRST) + rng.choice(ALIAS_SECOND)
    topics = service.sop_topics if doc_type == "sop" else service.topics
    year = rng.randint(2015, 2025)
    city = rng.choice(REGION_CITIES[region])
    return _Doc(rng, industry, service, region, city, kind, legal, alias, rng.choice(topics), year)


def _front_matter(doc: _Doc, index: int, doc_type: str, title: str) -> str:
    rng = doc.rng
    tags = list(dict.fromkeys(doc.service.tags + doc.industry.tags))
    chosen = rng.sample(tags, rng.randint(1, 3))
    stage = rng.choice(STAGES[:4] if doc_type == "sop" else STAGES)
    if doc_type == "lesson":
        stage = rng.choice(("实施", "复盘", "复盘"))
    level = _weighted(rng, (("public", 0.10), ("internal", 0.75), ("confidential", 0.15)))
    lines = [
        "---",
        f"id: SYN-{index + 1:06d}",
        f"type: {doc_type}",
        f"title: {title}",
        *([] if doc_type == "sop" else [f"client: {doc.region}某{doc.legal}"]),
        f"industry: {doc.industry.name}",
        f"service_type: {doc.service.name}",
        f"stage: {stage}",
        f"date: {doc.year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        f"tags: [{', '.join(chosen)}]",
        f"confidentiality: {level}",
        "---",
    ]
    return "\n".join(lines)


def document(index: int, seed: int = 7) -> tuple[str, str]:
    """(file name, Markdown text) of document `index` (0-based) for a seed."""
    rng = random.Random(f"synth:{seed}:{index}")
    doc_type = _weighted(rng, (("case", 0.75), ("sop", 0.15), ("lesson", 0.10)))
    doc = _new_doc(rng, doc_type)
    title = _title(doc, doc_type)
    parts = [_front_matter(doc, index, doc_type, title), f"# {title}"]
    for kind, heading in _outline(doc, doc_type):
        parts.append(f"## {heading}")
        parts.append(_section(doc, kind))
    return f"syn-{index + 1:06d}.md", "\n\n".join(parts) + "\n"


def documents(count: int, seed: int = 7) -> Iterator[tuple[str, str]]:
    """(file name, Markdown text) of `count` documents, fully determined by the seed."""
    for index in range(count):
        yield document(index, seed)


def folder_for(index: int) -> str:
    """Subfolder of document `index`: at most FILES_PER_FOLDER files each."""
    return f"{index // FILES_PER_FOLDER:04d}"


def write_corpus(folder: Path, count: int, seed: int = 7) -> int:
    """Write `count` documents as UTF-8 `.md` files under folder; characters written."""
    total = 0
    for index, (name, text) in enumerate(documents(count, seed)):
        target = folder / folder_for(index)
        if index % FILES_PER_FOLDER == 0:
            target.mkdir(parents=True, exist_ok=True)
        (target / name).write_text(text, encoding="utf-8", newline="\n")
        total += len(text)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, required=True, help="number of documents")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    chars = write_corpus(args.out, args.docs, args.seed)
    elapsed = time.perf_counter() - started
    per_doc = chars / max(1, args.docs)
    print(
        f"wrote {args.docs:,} files, {chars:,} characters to {args.out} "
        f"({per_doc:,.0f} characters/document, ~{args.docs * CHUNKS_PER_DOC:,.0f} chunks) "
        f"in {elapsed:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
