"""English names of the jurisdictions data/ ships, for bureau_en and name_en.

Romanized once with pypinyin (not a dependency: the table is the product) and corrected by
hand where the reading or the customary spelling differs (长治 Changzhi, 洪洞 Hongtong,
繁峙 Fanshi, 尧都 Yaodu, 陕西 Shaanxi, 乌鲁木齐 Urumqi, 玛纳斯 Manas, 吉木萨尔 Jimsar,
木垒 Mori, 和布克赛尔 Hoboksar). Drawn units (parks, XPCC) are named in data_enclaves.
"""

from __future__ import annotations

NAME_EN: dict[str, str] = {
    "140000": "Shanxi Province",  # 山西省
    "140100": "Taiyuan",  # 太原市
    "140105": "Xiaodian District",  # 小店区
    "140106": "Yingze District",  # 迎泽区
    "140107": "Xinghualing District",  # 杏花岭区
    "140108": "Jiancaoping District",  # 尖草坪区
    "140109": "Wanbolin District",  # 万柏林区
    "140110": "Jinyuan District",  # 晋源区
    "140121": "Qingxu County",  # 清徐县
    "140122": "Yangqu County",  # 阳曲县
    "140123": "Loufan County",  # 娄烦县
    "140181": "Gujiao City",  # 古交市
    "140200": "Datong",  # 大同市
    "140212": "Xinrong District",  # 新荣区
    "140213": "Pingcheng District",  # 平城区
    "140214": "Yungang District",  # 云冈区
    "140215": "Yunzhou District",  # 云州区
    "140221": "Yanggao County",  # 阳高县
    "140222": "Tianzhen County",  # 天镇县
    "140223": "Guangling County",  # 广灵县
    "140224": "Lingqiu County",  # 灵丘县
    "140225": "Hunyuan County",  # 浑源县
    "140226": "Zuoyun County",  # 左云县
    "140300": "Yangquan",  # 阳泉市
    "140302": "Chengqu District",  # 城区
    "140303": "Kuangqu District",  # 矿区
    "140311": "Jiaoqu District",  # 郊区
    "140321": "Pingding County",  # 平定县
    "140322": "Yu County",  # 盂县
    "140400": "Changzhi",  # 长治市
    "140403": "Luzhou District",  # 潞州区
    "140404": "Shangdang District",  # 上党区
    "140405": "Tunliu District",  # 屯留区
    "140406": "Lucheng District",  # 潞城区
    "140423": "Xiangyuan County",  # 襄垣县
    "140425": "Pingshun County",  # 平顺县
    "140426": "Licheng County",  # 黎城县
    "140427": "Huguan County",  # 壶关县
    "140428": "Zhangzi County",  # 长子县
    "140429": "Wuxiang County",  # 武乡县
    "140430": "Qin County",  # 沁县
    "140431": "Qinyuan County",  # 沁源县
    "140500": "Jincheng",  # 晋城市
    "140502": "Chengqu District",  # 城区
    "140521": "Qinshui County",  # 沁水县
    "140522": "Yangcheng County",  # 阳城县
    "140524": "Lingchuan County",  # 陵川县
    "140525": "Zezhou County",  # 泽州县
    "140581": "Gaoping City",  # 高平市
    "140600": "Shuozhou",  # 朔州市
    "140602": "Shuocheng District",  # 朔城区
    "140603": "Pinglu District",  # 平鲁区
    "140621": "Shanyin County",  # 山阴县
    "140622": "Ying County",  # 应县
    "140623": "Youyu County",  # 右玉县
    "140681": "Huairen City",  # 怀仁市
    "140700": "Jinzhong",  # 晋中市
    "140702": "Yuci District",  # 榆次区
    "140703": "Taigu District",  # 太谷区
    "140721": "Yushe County",  # 榆社县
    "140722": "Zuoquan County",  # 左权县
    "140723": "Heshun County",  # 和顺县
    "140724": "Xiyang County",  # 昔阳县
    "140725": "Shouyang County",  # 寿阳县
    "140727": "Qi County",  # 祁县
    "140728": "Pingyao County",  # 平遥县
    "140729": "Lingshi County",  # 灵石县
    "140781": "Jiexiu City",  # 介休市
    "140800": "Yuncheng",  # 运城市
    "140802": "Yanhu District",  # 盐湖区
    "140821": "Linyi County",  # 临猗县
    "140822": "Wanrong County",  # 万荣县
    "140823": "Wenxi County",  # 闻喜县
    "140824": "Jishan County",  # 稷山县
    "140825": "Xinjiang County",  # 新绛县
    "140826": "Jiang County",  # 绛县
    "140827": "Yuanqu County",  # 垣曲县
    "140828": "Xia County",  # 夏县
    "140829": "Pinglu County",  # 平陆县
    "140830": "Ruicheng County",  # 芮城县
    "140881": "Yongji City",  # 永济市
    "140882": "Hejin City",  # 河津市
    "140900": "Xinzhou",  # 忻州市
    "140902": "Xinfu District",  # 忻府区
    "140921": "Dingxiang County",  # 定襄县
    "140922": "Wutai County",  # 五台县
    "140923": "Dai County",  # 代县
    "140924": "Fanshi County",  # 繁峙县
    "140925": "Ningwu County",  # 宁武县
    "140926": "Jingle County",  # 静乐县
    "140927": "Shenchi County",  # 神池县
    "140928": "Wuzhai County",  # 五寨县
    "140929": "Kelan County",  # 岢岚县
    "140930": "Hequ County",  # 河曲县
    "140931": "Baode County",  # 保德县
    "140932": "Pianguan County",  # 偏关县
    "140981": "Yuanping City",  # 原平市
    "141000": "Linfen",  # 临汾市
    "141002": "Yaodu District",  # 尧都区
    "141021": "Quwo County",  # 曲沃县
    "141022": "Yicheng County",  # 翼城县
    "141023": "Xiangfen County",  # 襄汾县
    "141024": "Hongtong County",  # 洪洞县
    "141025": "Gu County",  # 古县
    "141026": "Anze County",  # 安泽县
    "141027": "Fushan County",  # 浮山县
    "141028": "Ji County",  # 吉县
    "141029": "Xiangning County",  # 乡宁县
    "141030": "Daning County",  # 大宁县
    "141031": "Xi County",  # 隰县
    "141032": "Yonghe County",  # 永和县
    "141033": "Pu County",  # 蒲县
    "141034": "Fenxi County",  # 汾西县
    "141081": "Houma City",  # 侯马市
    "141082": "Huozhou City",  # 霍州市
    "141100": "Lüliang",  # 吕梁市
    "141102": "Lishi District",  # 离石区
    "141121": "Wenshui County",  # 文水县
    "141122": "Jiaocheng County",  # 交城县
    "141123": "Xing County",  # 兴县
    "141124": "Lin County",  # 临县
    "141125": "Liulin County",  # 柳林县
    "141126": "Shilou County",  # 石楼县
    "141127": "Lan County",  # 岚县
    "141128": "Fangshan County",  # 方山县
    "141129": "Zhongyang County",  # 中阳县
    "141130": "Jiaokou County",  # 交口县
    "141181": "Xiaoyi City",  # 孝义市
    "141182": "Fenyang City",  # 汾阳市
    "410000": "Henan Province",  # 河南省
    "411200": "Sanmenxia",  # 三门峡市
    "411202": "Hubin District",  # 湖滨区
    "411203": "Shanzhou District",  # 陕州区
    "411221": "Mianchi County",  # 渑池县
    "411224": "Lushi County",  # 卢氏县
    "411281": "Yima City",  # 义马市
    "411282": "Lingbao City",  # 灵宝市
    "610000": "Shaanxi Province",  # 陕西省
    "610500": "Weinan",  # 渭南市
    "610502": "Linwei District",  # 临渭区
    "610503": "Huazhou District",  # 华州区
    "610522": "Tongguan County",  # 潼关县
    "610523": "Dali County",  # 大荔县
    "610524": "Heyang County",  # 合阳县
    "610525": "Chengcheng County",  # 澄城县
    "610526": "Pucheng County",  # 蒲城县
    "610527": "Baishui County",  # 白水县
    "610528": "Fuping County",  # 富平县
    "610581": "Hancheng City",  # 韩城市
    "610582": "Huayin City",  # 华阴市
    "650000": "Xinjiang Uygur Autonomous Region",  # 新疆维吾尔自治区
    "650100": "Urumqi",  # 乌鲁木齐市
    "650102": "Tianshan District",  # 天山区
    "650103": "Saybagh District",  # 沙依巴克区
    "650104": "Xinshi District",  # 新市区
    "650105": "Shuimogou District",  # 水磨沟区
    "650106": "Toutunhe District",  # 头屯河区
    "650107": "Dabancheng District",  # 达坂城区
    "650109": "Midong District",  # 米东区
    "650121": "Urumqi County",  # 乌鲁木齐县
    "652300": "Changji Hui Autonomous Prefecture",  # 昌吉回族自治州
    "652301": "Changji City",  # 昌吉市
    "652302": "Fukang City",  # 阜康市
    "652323": "Hutubi County",  # 呼图壁县
    "652324": "Manas County",  # 玛纳斯县
    "652325": "Qitai County",  # 奇台县
    "652327": "Jimsar County",  # 吉木萨尔县
    "652328": "Mori Kazakh Autonomous County",  # 木垒哈萨克自治县
    "654200": "Tacheng Prefecture",  # 塔城地区
    "654203": "Shawan City",  # 沙湾市
    "654226": "Hoboksar Mongol Autonomous County",  # 和布克赛尔蒙古自治县
    "659001": "Shihezi City",  # 石河子市
    "659004": "Wujiaqu City",  # 五家渠市
}


def english_name(jurisdiction_id: str, fallback: str) -> str:
    """The English name, or ``fallback`` (the Chinese name) when the table has none."""
    return NAME_EN.get(jurisdiction_id, fallback)
