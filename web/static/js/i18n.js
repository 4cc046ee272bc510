// Every string the pages show, Chinese first; the 中文/English switch picks the column.
// Elements carry data-i18n="key" (text), data-i18n-label="key" (aria-label),
// data-i18n-placeholder="key" and data-i18n-title="key"; applyI18n() fills them in.

const STRINGS = {
  brand: ["跨界水污染信息通报", "Cross-boundary river pollution notices"],
  skip: ["跳到正文", "Skip to content"],
  "nav.label": ["主导航", "Main navigation"],
  "nav.map": ["通报地图", "Map"],
  "nav.inbox": ["收件箱", "Inbox"],
  "nav.stats": ["统计", "Statistics"],
  "nav.mail": ["已发邮件", "Sent mail"],
  "lang.switch": ["English", "中文"],
  "lang.label": ["切换到英文界面", "Switch to Chinese"],
  signout: ["退出登录", "Sign out"],
  "title.signin": ["登录 · 跨界水污染信息通报", "Sign in · River pollution notices"],
  "title.map": ["通报地图 · 跨界水污染信息通报", "Map · River pollution notices"],
  "title.inbox": ["收件箱 · 跨界水污染信息通报", "Inbox · River pollution notices"],
  "title.stats": ["统计 · 跨界水污染信息通报", "Statistics · River pollution notices"],
  "title.mail": ["已发邮件 · 跨界水污染信息通报", "Sent mail · River pollution notices"],
  "who.role.bureau": ["生态环境局", "bureau"],
  "who.role.supervisor": ["上级局", "supervisor"],
  "who.role.admin": ["管理员", "admin"],

  "signin.heading": ["登录", "Sign in"],
  "signin.intro": [
    "上下游生态环境局之间的突发水污染信息通报。",
    "Notifications of river pollution between upstream and downstream bureaus.",
  ],
  "signin.username": ["用户名", "Username"],
  "signin.password": ["密码", "Password"],
  "signin.submit": ["登录", "Sign in"],
  "signin.busy": ["正在登录…", "Signing in…"],
  "signin.done": ["已登录，正在打开…", "Signed in, opening…"],
  "signin.expired": ["登录已过期，请重新登录。", "Your session ended; please sign in again."],

  "map.label": ["通报地图", "Notification map"],
  "map.basin": ["流域", "Basin"],
  "map.legend": ["图例", "Legend"],
  "map.zoomIn": ["放大", "Zoom in"],
  "map.zoomOut": ["缩小", "Zoom out"],
  "map.loading": ["正在加载河网…", "Loading the river network…"],
  "map.loaded": ["河网已加载：{reaches} 条河段", "River network loaded: {reaches} reaches"],
  "legend.jurisdictions": ["辖区", "Jurisdictions"],
  "legend.county": ["县（市、区）", "County"],
  "legend.park": ["园区", "Industrial park"],
  "legend.xpcc": ["兵团单位", "XPCC unit"],
  "legend.reaches": ["河段", "Reaches"],
  "legend.boundary": ["界河段（虚线）", "Boundary reach (dashed)"],
  "legend.station": ["监测断面", "Monitoring station"],
  "legend.incident": ["事件", "Incident"],
  "legend.origin": ["污染起点", "Origin"],
  "legend.path": ["下游影响路径", "Traced path"],

  "status.pending": ["待发送", "pending"],
  "status.sent": ["已发送", "sent"],
  "status.acknowledged": ["已确认", "acknowledged"],
  "status.overdue": ["已超时", "overdue"],
  "status.escalated": ["已上报", "escalated"],
  "status.cancelled": ["已撤销", "cancelled"],
  "istatus.open": ["处置中", "open"],
  "istatus.monitoring": ["监测中", "monitoring"],
  "istatus.closed": ["已结案", "closed"],
  "istatus.cancelled": ["已撤销", "cancelled"],
  "role.downstream": ["下游", "downstream"],
  "role.upstream": ["上游", "upstream"],
  "role.boundary": ["界河对岸", "other bank"],
  "role.supervisor_copy": ["抄送上级", "copy to supervisor"],
  "role.adjacent_prefecture": ["相邻地市", "adjacent prefecture"],
  "role.provincial_copy": ["抄送省级", "copy to province"],
  "clock.report_upward": ["向上级报告", "report upward"],
  "clock.public_information": ["发布权威信息", "public information"],
  "clock.press_conference": ["召开新闻发布会", "press conference"],

  "panel.label": ["事件面板", "Incident panel"],
  "panel.open": ["进行中的事件", "Open incidents"],
  "panel.none": ["暂无进行中的事件。", "No open incidents."],
  "panel.select": ["查看事件 {id}", "Show incident {id}"],
  "incident.title": ["事件 {id} · {river}", "Incident {id} · {river}"],
  "incident.drill": ["演练", "drill"],
  "incident.grade": ["等级 {grade}", "grade {grade}"],
  "incident.opened": ["立案 {time}", "opened {time}"],
  "incident.notified": ["通报单位", "Notified bureaus"],
  "incident.bureau": ["单位", "Bureau"],
  "incident.role": ["类别", "Role"],
  "incident.status": ["状态", "Status"],
  "incident.eta": ["预计到达", "Arrival (est.)"],
  "incident.deadline": ["确认期限", "Ack by"],
  "incident.distance": ["{km} 千米", "{km} km"],
  "incident.ackedAt": ["确认于 {time}", "acknowledged {time}"],
  "incident.clocks": ["法定时限", "Statutory clocks"],
  "incident.timeline": ["时间线", "Timeline"],
  "incident.met": ["已完成 {time}", "met {time}"],
  "incident.due": ["期限 {time}", "due {time}"],
  "tl.report": ["{who} 报告异常：{where}", "{who} reported an anomaly at {where}"],
  "tl.exceeded": ["（超标）", " (exceeded)"],
  "tl.notice": ["通报 {bureau}（{role}）", "Notice to {bureau} ({role})"],
  "tl.sent": ["已发送至 {bureau}", "Sent to {bureau}"],
  "tl.ack": ["{bureau} 已确认（{who}）", "{bureau} acknowledged ({who})"],
  "tl.escalated": ["{bureau} 超时未确认，已上报", "{bureau} overdue, escalated"],
  "tl.follow_up": ["续报（{who}）：{text}", "Follow-up ({who}): {text}"],
  "tl.end_of_alert": ["解除（{who}）：{text}", "End of alert ({who}): {text}"],
  "tl.closed": ["结案", "Closed"],
  "tl.cancelled": ["撤销", "Cancelled"],

  "left.in": ["还剩 {t}", "{t} left"],
  "left.over": ["已超时 {t}", "overdue by {t}"],
  "dur.hm": ["{h} 小时 {m} 分", "{h} h {m} min"],
  "dur.m": ["{m} 分钟", "{m} min"],
  "eta.at": ["约 {time}（+{h} 小时）", "~{time} (+{h} h)"],
  "eta.unknown": ["未知", "unknown"],

  "actions.label": ["操作", "Actions"],
  "actions.severity": ["事件等级", "Grade"],
  "actions.setSeverity": ["设定等级", "Set grade"],
  "actions.close": ["结案", "Close incident"],
  "actions.ack": ["确认收到", "Acknowledge"],
  "actions.acked": ["已确认", "Acknowledged"],
  "actions.followup": ["续报内容", "Follow-up"],
  "actions.sendFollowup": ["提交续报", "Add follow-up"],
  "actions.drill": ["发起演练", "Start a drill"],
  "actions.drillReach": ["演练河段编号（可点击地图上的河段）", "Reach id for the drill (or click a reach)"],
  "actions.done": ["已完成：{what}", "Done: {what}"],
  "actions.failed": ["操作失败：{why}", "Failed: {why}"],
  "grade.I": ["I 特别重大", "I (extraordinary)"],
  "grade.II": ["II 重大", "II (major)"],
  "grade.III": ["III 较大", "III (large)"],
  "grade.IV": ["IV 一般", "IV (general)"],

  "inbox.heading": ["我的待确认通报", "My open notices"],
  "inbox.none": ["没有待确认的通报。", "No open notices."],
  "inbox.notice": ["事件 {id} · {river}", "Incident {id} · {river}"],
  "inbox.updated": ["收件箱已更新：{n} 条待确认", "Inbox updated: {n} open"],
  "inbox.reason": ["通报理由", "Reason"],
  "inbox.openMap": ["在地图上查看", "Show on the map"],

  "stats.heading": ["统计", "Statistics"],
  "stats.perMonth": ["每月事件数", "Incidents per month"],
  "stats.ackTime": ["各单位确认用时（中位数，分钟）", "Time to acknowledge per bureau (median, minutes)"],
  "stats.period": ["统计月份", "Month"],
  "stats.csv": ["下载 CSV", "Download CSV"],
  "stats.none": ["暂无数据。", "No data yet."],
  "stats.incidents": ["事件", "incidents"],
  "stats.minutes": ["分钟", "min"],
  "stats.drills": ["演练统计", "Drills"],
  "stats.table": ["数据表", "Data table"],
  "stats.month": ["月份", "Month"],
  "stats.notices": ["通报", "Notices"],
  "stats.median": ["中位数（分钟）", "Median (min)"],
  "stats.p90": ["90% 分位（分钟）", "90th percentile (min)"],

  "mail.heading": ["内置邮件接收器收到的邮件", "Mail received by the embedded SMTP sink"],
  "mail.intro": [
    "开发环境没有配置邮件服务器时，发出的通报邮件都在这里。",
    "With no mail server configured, every notice sent by email shows up here.",
  ],
  "mail.none": ["还没有邮件。", "No mail yet."],
  "mail.to": ["收件人", "To"],
  "mail.from": ["发件人", "From"],
  "mail.at": ["收到时间", "Received"],
  "mail.unavailable": ["未启用内置邮件接收器。", "The embedded SMTP sink is not running."],

  "error.network": ["无法连接服务器", "cannot reach the server"],
  "error.forbidden": ["无权访问", "not allowed"],
};

const KEY = "rn.lang";

export function lang() {
  return localStorage.getItem(KEY) === "en" ? "en" : "zh";
}

export function t(key, vars = {}) {
  const pair = STRINGS[key];
  let text = pair ? pair[lang() === "en" ? 1 : 0] : key;
  for (const [name, value] of Object.entries(vars)) {
    text = text.replaceAll(`{${name}}`, String(value));
  }
  return text;
}

export function applyI18n(root = document) {
  document.documentElement.lang = lang() === "en" ? "en" : "zh-CN";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  }
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.setAttribute("placeholder", t(el.dataset.i18nPlaceholder));
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) {
    el.setAttribute("title", t(el.dataset.i18nTitle));
  }
}

const listeners = [];

/** Run `fn` now and again whenever the language changes (to redraw dynamic text). */
export function onLanguage(fn) {
  listeners.push(fn);
}

export function setLang(value) {
  localStorage.setItem(KEY, value === "en" ? "en" : "zh");
  applyI18n();
  for (const fn of listeners) fn();
}
