"""Words the demo company is made of, in Chinese and English."""

INDUSTRIES_ZH = [
    "制造业",
    "零售业",
    "IT服务",
    "医疗健康",
    "教育培训",
    "物流运输",
    "金融服务",
    "餐饮服务",
]
INDUSTRIES_EN = [
    "Manufacturing",
    "Retail",
    "IT services",
    "Healthcare",
    "Education",
    "Logistics",
    "Financial services",
    "Food service",
]
NEEDS_ZH = [
    "云存储解决方案",
    "供应链管理优化",
    "设备升级",
    "员工培训",
    "数据分析平台",
    "售后维保",
    "批量采购折扣",
]
NEEDS_EN = [
    "Cloud storage",
    "Supply-chain optimisation",
    "Equipment upgrade",
    "Staff training",
    "Analytics platform",
    "After-sales maintenance",
    "Volume discount",
]
NEED_TAGS = [
    ("价格敏感", "price-sensitive"),
    ("品质优先", "quality-first"),
    ("服务需求", "service needs"),
]
BEHAVIOUR_TAGS = [
    ("参加促销", "joined a promotion"),
    ("未复购", "no repurchase"),
    ("投诉过", "complained"),
]
CATEGORIES = [
    "办公设备",
    "工业耗材",
    "软件服务",
    "电子产品",
    "家居用品",
    "食品饮料",
    "个护美妆",
    "服装鞋包",
]
SOURCES = [
    ("trade_show", "Trade show", "行业展会"),
    ("referral", "Referral", "客户转介绍"),
    ("online", "Online", "线上渠道"),
    ("offline_store", "Offline store", "线下门店"),
    ("advertising", "Advertising", "广告投放"),
    ("other", "Other", "其他"),
]
REGIONS = {
    "华北": ["北京", "天津", "石家庄"],
    "华东": ["上海", "杭州", "南京", "苏州", "宁波"],
    "华南": ["广州", "深圳", "佛山", "厦门"],
    "华中": ["武汉", "长沙", "郑州"],
    "西南": ["成都", "重庆", "昆明"],
    "西北": ["西安", "兰州"],
    "东北": ["沈阳", "大连", "哈尔滨"],
}
TITLES_ZH = ["采购经理", "总经理", "IT主管", "财务总监", "运营经理", "行政主管"]
TITLES_EN = ["Purchasing manager", "General manager", "IT lead", "CFO", "Operations manager"]
OCCUPATIONS_ZH = ["教师", "工程师", "设计师", "医生", "会计", "销售", "学生", "公务员"]
FOLLOWUP_CONTENT = [
    ("电话回访，了解近期采购计划", "客户关注价格", "下周提供分期付款方案"),
    ("上门拜访，演示新产品", "客户对新功能感兴趣", "安排技术交流会"),
    ("邮件发送行业白皮书", "客户表示会内部讨论", "两周后电话跟进"),
    ("微信沟通售后问题", "问题已解决，客户满意", "一个月后回访"),
    ("季度业务回顾会议", "客户希望增加培训", "制定定制培训计划"),
]
FOLLOWUP_CONTENT_EN = [
    (
        "Call about the next purchase round",
        "Worried about price",
        "Offer an instalment plan next week",
    ),
    (
        "Visit to demo the new product line",
        "Interested in the new features",
        "Arrange a technical workshop",
    ),
]
COMPLAINT_CATEGORIES = [
    ("物流延迟", "订单发货比承诺晚了一周"),
    ("产品质量", "收到的产品有破损"),
    ("服务态度", "客服响应太慢"),
    ("账单问题", "发票金额与订单不符"),
    ("Delivery delay", "The order shipped a week late"),
]
SURVEY_COMMENTS_GOOD = ["服务很好，会继续合作", "产品质量稳定", "Great service, will buy again"]
SURVEY_COMMENTS_BAD = ["价格偏高", "售后响应慢", "Delivery was late twice"]
CAMPAIGNS = [
    ("春节促销", "promotion"),
    ("新品试用邀请", "new_product"),
    ("618年中大促", "promotion"),
    ("行业技术交流会", "event"),
    ("月度行业资讯", "newsletter"),
    ("中秋关怀", "care"),
    ("双11狂欢", "promotion"),
    ("Customer appreciation day", "event"),
]
