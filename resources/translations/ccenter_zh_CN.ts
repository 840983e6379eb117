<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>AgentWindow</name>
    <message>
        <source>ccenter — %1 (%2)</source>
        <translation>ccenter — %1（%2）</translation>
    </message>
    <message>
        <source>Agent, extension or phone number</source>
        <translation>坐席、分机或电话号码</translation>
    </message>
    <message>
        <source>Call ended: %1</source>
        <translation>通话已结束：%1</translation>
    </message>
    <message>
        <source>There is no call to link to this customer.</source>
        <translation>当前没有可关联到该客户的通话。</translation>
    </message>
    <message>
        <source>Type the new customer&apos;s name.</source>
        <translation>请输入新客户的姓名。</translation>
    </message>
    <message>
        <source>Save the contact first (Ctrl+S).</source>
        <translation>请先保存联络记录（Ctrl+S）。</translation>
    </message>
    <message>
        <source>Consult</source>
        <translation>咨询</translation>
    </message>
    <message>
        <source>Transfer</source>
        <translation>转接</translation>
    </message>
    <message>
        <source>Keypad</source>
        <translation>拨号盘</translation>
    </message>
    <message>
        <source>Digits to send (0-9 * #)</source>
        <translation>要发送的按键（0-9 * #）</translation>
    </message>
    <message>
        <source>Telephony link lost; reconnecting. Your session is kept.</source>
        <translation>电话链路中断，正在重连，您的会话已保留。</translation>
    </message>
    <message>
        <source>%1 failed: %2</source>
        <translation>%1 失败：%2</translation>
    </message>
    <message>
        <source>Identify the customer before creating an order.</source>
        <translation>请先识别客户，再创建订单。</translation>
    </message>
    <message>
        <source>Identify the customer before creating a service request.</source>
        <translation>请先识别客户，再创建服务请求。</translation>
    </message>
    <message>
        <source>Database unavailable: the contact is kept on this computer and will be sent when it is back.</source>
        <translation>数据库不可用：联络记录已保存在本机，待数据库恢复后自动提交。</translation>
    </message>
    <message>
        <source>Contact %1 saved.</source>
        <translation>联络记录 %1 已保存。</translation>
    </message>
    <message>
        <source>The value cannot be corrected: %1</source>
        <translation>无法更正该值：%1</translation>
    </message>
    <message>
        <source>%1 corrected; the correction goes with the call.</source>
        <translation>已更正%1；更正随通话一起传递。</translation>
    </message>
</context>
<context>
    <name>Application</name>
    <message>
        <source>Unexpected error: %1</source>
        <extracomment>Messages of Qt&apos;s own that say nothing to our users (the offscreen platform used for screenshots). The colour icons are drawn in, per style (the style sheets&apos; button text colour).</extracomment>
        <translation>意外错误：%1</translation>
    </message>
</context>
<context>
    <name>CallPanel</name>
    <message>
        <source>Created on this call</source>
        <translation>本次通话已创建</translation>
    </message>
    <message>
        <source>The campaign offer this call works: orders and service requests made on the call belong to it</source>
        <translation>本通话处理的营销活动优惠：通话中创建的订单和服务请求都归属于它</translation>
    </message>
    <message>
        <source>New order…</source>
        <translation>新建订单…</translation>
    </message>
    <message>
        <source>New service request…</source>
        <translation>新建服务请求…</translation>
    </message>
    <message>
        <source>Save contact</source>
        <translation>保存联络记录</translation>
    </message>
    <message>
        <source>Order: %1 × %2, %3 %4</source>
        <translation>订单：%1 × %2，%3 %4</translation>
    </message>
    <message>
        <source>Service request: %1 (%2)</source>
        <translation>服务请求：%1（%2）</translation>
    </message>
    <message>
        <source>No campaign offer</source>
        <translation>无营销活动优惠</translation>
    </message>
    <message>
        <source>For offer: %1</source>
        <translation>所属优惠：%1</translation>
    </message>
</context>
<context>
    <name>Columns</name>
    <message>
        <source>When</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Channel</source>
        <translation>渠道</translation>
    </message>
    <message>
        <source>Queue</source>
        <translation>队列</translation>
    </message>
    <message>
        <source>Waiting</source>
        <translation>等待数</translation>
    </message>
    <message>
        <source>Longest wait</source>
        <translation>最长等待</translation>
    </message>
    <message>
        <source>Service level</source>
        <translation>服务水平</translation>
    </message>
    <message>
        <source>ASA</source>
        <translation>平均应答时间</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>Busy</source>
        <translation>忙碌</translation>
    </message>
    <message>
        <source>Answered</source>
        <translation>已接听</translation>
    </message>
    <message>
        <source>Abandoned</source>
        <translation>已放弃</translation>
    </message>
    <message>
        <source>Agent</source>
        <translation>坐席</translation>
    </message>
    <message>
        <source>Team</source>
        <translation>班组</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <source>In state</source>
        <translation>持续时间</translation>
    </message>
    <message>
        <source>Call</source>
        <translation>通话</translation>
    </message>
    <message>
        <source>Handled</source>
        <translation>已处理</translation>
    </message>
    <message>
        <source>Occupancy</source>
        <translation>占用率</translation>
    </message>
    <message>
        <source>Disposition</source>
        <translation>处置结果</translation>
    </message>
    <message>
        <source>Summary</source>
        <translation>摘要</translation>
    </message>
    <message>
        <source>Order</source>
        <translation>订单</translation>
    </message>
    <message>
        <source>Product</source>
        <translation>产品</translation>
    </message>
    <message>
        <source>Amount</source>
        <translation>金额</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Created</source>
        <translation>创建时间</translation>
    </message>
    <message>
        <source>Request</source>
        <translation>请求</translation>
    </message>
    <message>
        <source>Category</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Priority</source>
        <translation>优先级</translation>
    </message>
    <message>
        <source>Opened</source>
        <translation>提交时间</translation>
    </message>
    <message>
        <source>Who</source>
        <translation>操作人</translation>
    </message>
    <message>
        <source>As</source>
        <translation>身份</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>步骤</translation>
    </message>
    <message>
        <source>Move</source>
        <translation>状态变化</translation>
    </message>
    <message>
        <source>Fields</source>
        <translation>填写内容</translation>
    </message>
    <message>
        <source>Line</source>
        <translation>项目</translation>
    </message>
    <message>
        <source>Number</source>
        <translation>号码</translation>
    </message>
    <message>
        <source>Contract end</source>
        <translation>合约到期</translation>
    </message>
    <message>
        <source>Campaign</source>
        <translation>营销活动</translation>
    </message>
    <message>
        <source>Dial mode</source>
        <translation>外呼模式</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>进度</translation>
    </message>
    <message>
        <source>Connects</source>
        <translation>接通</translation>
    </message>
    <message>
        <source>Conversion</source>
        <translation>转化率</translation>
    </message>
    <message>
        <source>Abandon rate</source>
        <translation>放弃率</translation>
    </message>
    <message>
        <source>Cap</source>
        <translation>上限</translation>
    </message>
    <message>
        <source>Dialer</source>
        <translation>外呼器</translation>
    </message>
    <message>
        <source>Offer</source>
        <translation>推荐</translation>
    </message>
    <message>
        <source>Attempts</source>
        <translation>尝试次数</translation>
    </message>
    <message>
        <source>Sent</source>
        <translation>发送时间</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>主题</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <source>Tier</source>
        <translation>等级</translation>
    </message>
    <message>
        <source>Phone</source>
        <translation>电话</translation>
    </message>
</context>
<context>
    <name>Customer360View</name>
    <message>
        <source>Search for a customer, or wait for a call.</source>
        <translation>请搜索客户，或等待来电。</translation>
    </message>
    <message>
        <source>Select an offer to see its script.</source>
        <translation>选择一条推荐以查看话术。</translation>
    </message>
    <message>
        <source>History</source>
        <translation>历史记录</translation>
    </message>
    <message>
        <source>Open orders</source>
        <translation>未完成订单</translation>
    </message>
    <message>
        <source>Service requests</source>
        <translation>服务请求</translation>
    </message>
    <message>
        <source>Offers</source>
        <translation>推荐</translation>
    </message>
    <message>
        <source>Communications</source>
        <translation>往来通知</translation>
    </message>
    <message>
        <source>no number on file</source>
        <translation>无登记号码</translation>
    </message>
    <message numerus="yes">
        <source>Open orders (%n)</source>
        <translation>
            <numerusform>未完成订单（%n）</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Service requests (%n)</source>
        <translation>
            <numerusform>服务请求（%n）</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Offers (%n)</source>
        <translation>
            <numerusform>推荐（%n）</numerusform>
        </translation>
    </message>
    <message>
        <source>Account</source>
        <translation>账户</translation>
    </message>
    <message>
        <source>balance</source>
        <translation>余额</translation>
    </message>
    <message>
        <source>Account %1: %2 · %3 · balance %4</source>
        <translation>账户 %1：%2 · %3 · 余额 %4</translation>
    </message>
</context>
<context>
    <name>CustomerWindow</name>
    <message>
        <source>ccenter — Customers</source>
        <extracomment>The order and billing system (``[connectors.*]`` in the configuration), or None when none is connected. The site (``Settings.site``) whose agents log in here and are transfer targets.</extracomment>
        <translation>ccenter — 客户</translation>
    </message>
    <message>
        <source>Name, phone number or account number</source>
        <translation>姓名、电话号码或账号</translation>
    </message>
    <message>
        <source>Use for the current call</source>
        <translation>用于当前通话</translation>
    </message>
    <message>
        <source>Link the call on your workstation to this customer</source>
        <translation>将工作台上的通话关联到该客户</translation>
    </message>
    <message>
        <source>Searching…</source>
        <translation>正在搜索…</translation>
    </message>
    <message>
        <source>1 customer found</source>
        <translation>找到 1 位客户</translation>
    </message>
    <message>
        <source>%1 customers found</source>
        <translation>找到 %1 位客户</translation>
    </message>
    <message>
        <source>Look-up failed: %1</source>
        <translation>查询失败：%1</translation>
    </message>
    <message numerus="yes">
        <source>%n customer(s) found</source>
        <translation>
            <numerusform>找到 %n 位客户</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>EscalationNotices</name>
    <message>
        <source>Order %1</source>
        <translation>订单 %1</translation>
    </message>
    <message>
        <source>Service request %1</source>
        <translation>服务请求 %1</translation>
    </message>
    <message>
        <source>Escalated to you: %1 (%2) passed its time limit; now %3.</source>
        <translation>已升级给您：%1（%2）已超过时限；当前状态：%3。</translation>
    </message>
</context>
<context>
    <name>IvrDataPanel</name>
    <message>
        <source>From the IVR</source>
        <extracomment>Shown first, in this order, with these labels; other fields follow under their own names. Fields holding codes, shown through the labels table (an editable one is shown as typed). Keys that make the data a campaign&apos;s dial data rather than what an IVR learnt.</extracomment>
        <translation>IVR 信息</translation>
    </message>
    <message>
        <source>No IVR data for this call.</source>
        <translation>此通话没有 IVR 数据。</translation>
    </message>
    <message>
        <source>Campaign call</source>
        <translation>营销活动呼叫</translation>
    </message>
    <message>
        <source>Correct the value and press Enter: the correction goes with the call.</source>
        <translation>更正该值后按回车：更正随通话一起传递。</translation>
    </message>
    <message>
        <source>%1 (was %2: %3)</source>
        <translation>%1（原为 %2：%3）</translation>
    </message>
    <message>
        <source>Verified</source>
        <translation>已验证身份</translation>
    </message>
    <message>
        <source>Intent</source>
        <translation>来电意图</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>Account</source>
        <translation>账户</translation>
    </message>
    <message>
        <source>Identified by</source>
        <translation>识别方式</translation>
    </message>
    <message>
        <source>Menu path</source>
        <translation>菜单路径</translation>
    </message>
    <message>
        <source>Self-service</source>
        <translation>自助服务</translation>
    </message>
    <message>
        <source>Time in IVR</source>
        <translation>IVR 停留时长</translation>
    </message>
    <message>
        <source>Callback number</source>
        <translation>回电号码</translation>
    </message>
    <message>
        <source>Notes</source>
        <translation>备注</translation>
    </message>
    <message>
        <source>Campaign</source>
        <translation>营销活动</translation>
    </message>
    <message>
        <source>Offer</source>
        <translation>推荐</translation>
    </message>
    <message>
        <source>Dial mode</source>
        <translation>拨号方式</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>是</translation>
    </message>
    <message>
        <source>no</source>
        <translation>否</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 秒</translation>
    </message>
</context>
<context>
    <name>Labels</name>
    <message>
        <source>Inbound call</source>
        <extracomment>The supervisor window&apos;s sentences (explanations, chart titles) built around these labels. Code -&gt; English text, marked for lupdate (QT_TRANSLATE_NOOP returns its text; typed ``object``).</extracomment>
        <translation>呼入电话</translation>
    </message>
    <message>
        <source>Outbound call</source>
        <translation>外呼电话</translation>
    </message>
    <message>
        <source>Email</source>
        <translation>电子邮件</translation>
    </message>
    <message>
        <source>SMS</source>
        <translation>短信</translation>
    </message>
    <message>
        <source>Chat</source>
        <translation>在线聊天</translation>
    </message>
    <message>
        <source>Web</source>
        <translation>网站</translation>
    </message>
    <message>
        <source>Store</source>
        <translation>门店</translation>
    </message>
    <message>
        <source>Letter</source>
        <translation>信件</translation>
    </message>
    <message>
        <source>Phone</source>
        <translation>电话</translation>
    </message>
    <message>
        <source>Offered on inbound calls</source>
        <translation>呼入时推荐</translation>
    </message>
    <message>
        <source>Post</source>
        <translation>邮寄</translation>
    </message>
    <message>
        <source>App</source>
        <translation>应用</translation>
    </message>
    <message>
        <source>Resolved</source>
        <translation>已解决</translation>
    </message>
    <message>
        <source>Order placed</source>
        <translation>已下单</translation>
    </message>
    <message>
        <source>Info given</source>
        <translation>已告知信息</translation>
    </message>
    <message>
        <source>Escalated</source>
        <translation>已升级</translation>
    </message>
    <message>
        <source>Callback scheduled</source>
        <translation>已安排回电</translation>
    </message>
    <message>
        <source>Wrong number</source>
        <translation>打错电话</translation>
    </message>
    <message>
        <source>Sale</source>
        <translation>成交</translation>
    </message>
    <message>
        <source>No sale</source>
        <translation>未成交</translation>
    </message>
    <message>
        <source>Not interested</source>
        <translation>不感兴趣</translation>
    </message>
    <message>
        <source>Call back later</source>
        <translation>稍后回电</translation>
    </message>
    <message>
        <source>Answering machine</source>
        <translation>答录机</translation>
    </message>
    <message>
        <source>Do not call</source>
        <translation>请勿致电</translation>
    </message>
    <message>
        <source>Complaint</source>
        <translation>投诉</translation>
    </message>
    <message>
        <source>Transferred</source>
        <translation>已转接</translation>
    </message>
    <message>
        <source>Technician booked</source>
        <translation>已预约技术人员</translation>
    </message>
    <message>
        <source>Payment arranged</source>
        <translation>已安排付款</translation>
    </message>
    <message>
        <source>Customer kept</source>
        <translation>客户已挽留</translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <source>Answered</source>
        <translation>已接听</translation>
    </message>
    <message>
        <source>Busy line</source>
        <translation>占线</translation>
    </message>
    <message>
        <source>No answer</source>
        <translation>无人接听</translation>
    </message>
    <message>
        <source>Call failed</source>
        <translation>呼叫失败</translation>
    </message>
    <message>
        <source>Abandoned</source>
        <translation>已放弃</translation>
    </message>
    <message>
        <source>Skipped</source>
        <translation>已跳过</translation>
    </message>
    <message>
        <source>Scheduled</source>
        <translation>已预约</translation>
    </message>
    <message>
        <source>Offer accepted</source>
        <translation>接受了优惠</translation>
    </message>
    <message>
        <source>Offer declined</source>
        <translation>拒绝了优惠</translation>
    </message>
    <message>
        <source>Offer made</source>
        <translation>已介绍优惠</translation>
    </message>
    <message>
        <source>normal</source>
        <translation>正常结束</translation>
    </message>
    <message>
        <source>hung up</source>
        <translation>已挂断</translation>
    </message>
    <message>
        <source>line busy</source>
        <translation>对方占线</translation>
    </message>
    <message>
        <source>no answer</source>
        <translation>无人接听</translation>
    </message>
    <message>
        <source>answering machine</source>
        <translation>答录机接听</translation>
    </message>
    <message>
        <source>the call could not be placed</source>
        <translation>无法拨出</translation>
    </message>
    <message>
        <source>the caller hung up</source>
        <translation>来电者已挂断</translation>
    </message>
    <message>
        <source>rejected</source>
        <translation>被拒绝</translation>
    </message>
    <message>
        <source>transferred</source>
        <translation>已转接</translation>
    </message>
    <message>
        <source>joined to a conference</source>
        <translation>已并入会议</translation>
    </message>
    <message>
        <source>taken back by the queue</source>
        <translation>已被队列收回</translation>
    </message>
    <message>
        <source>ended while the link was down</source>
        <translation>在连接中断期间结束</translation>
    </message>
    <message>
        <source>Ringing</source>
        <translation>振铃中</translation>
    </message>
    <message>
        <source>Calling…</source>
        <translation>正在呼叫…</translation>
    </message>
    <message>
        <source>Connected</source>
        <translation>通话中</translation>
    </message>
    <message>
        <source>On hold</source>
        <translation>保持中</translation>
    </message>
    <message>
        <source>Logged off</source>
        <translation>已登出</translation>
    </message>
    <message>
        <source>Logged on</source>
        <translation>已登录</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>Not ready</source>
        <translation>未就绪</translation>
    </message>
    <message>
        <source>On a call</source>
        <translation>通话中</translation>
    </message>
    <message>
        <source>Wrap-up</source>
        <translation>话后处理</translation>
    </message>
    <message>
        <source>Break</source>
        <translation>休息</translation>
    </message>
    <message>
        <source>Lunch</source>
        <translation>午餐</translation>
    </message>
    <message>
        <source>Training</source>
        <translation>培训</translation>
    </message>
    <message>
        <source>Meeting</source>
        <translation>会议</translation>
    </message>
    <message>
        <source>Coaching</source>
        <translation>辅导</translation>
    </message>
    <message>
        <source>Just logged on</source>
        <translation>刚登录</translation>
    </message>
    <message>
        <source>After a call</source>
        <translation>通话之后</translation>
    </message>
    <message>
        <source>Did not answer an offered call</source>
        <translation>未接听分配的来电</translation>
    </message>
    <message>
        <source>Rejected an offered call</source>
        <translation>拒接了分配的来电</translation>
    </message>
    <message>
        <source>Set by a supervisor</source>
        <translation>由班长设置</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>未结</translation>
    </message>
    <message>
        <source>Submitted</source>
        <translation>已提交</translation>
    </message>
    <message>
        <source>In progress</source>
        <translation>处理中</translation>
    </message>
    <message>
        <source>Completed</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>Shipped</source>
        <translation>已发货</translation>
    </message>
    <message>
        <source>Delivered</source>
        <translation>已送达</translation>
    </message>
    <message>
        <source>Waiting for the customer</source>
        <translation>等待客户</translation>
    </message>
    <message>
        <source>Closed</source>
        <translation>已关闭</translation>
    </message>
    <message>
        <source>Active</source>
        <translation>正常</translation>
    </message>
    <message>
        <source>Suspended</source>
        <translation>已停用</translation>
    </message>
    <message>
        <source>Overdue</source>
        <translation>已逾期</translation>
    </message>
    <message>
        <source>Billing</source>
        <translation>账单</translation>
    </message>
    <message>
        <source>Technical</source>
        <translation>技术</translation>
    </message>
    <message>
        <source>Move</source>
        <translation>搬迁</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>Cancellation</source>
        <translation>取消服务</translation>
    </message>
    <message>
        <source>Other</source>
        <translation>其他</translation>
    </message>
    <message>
        <source>Low</source>
        <translation>低</translation>
    </message>
    <message>
        <source>Normal</source>
        <translation>普通</translation>
    </message>
    <message>
        <source>High</source>
        <translation>高</translation>
    </message>
    <message>
        <source>Urgent</source>
        <translation>紧急</translation>
    </message>
    <message>
        <source>VIP</source>
        <translation>VIP</translation>
    </message>
    <message>
        <source>Gold</source>
        <translation>金卡</translation>
    </message>
    <message>
        <source>Prospect</source>
        <translation>潜在客户</translation>
    </message>
    <message>
        <source>Technical fault</source>
        <translation>技术故障</translation>
    </message>
    <message>
        <source>New service</source>
        <translation>新业务</translation>
    </message>
    <message>
        <source>Call me back</source>
        <translation>请求回电</translation>
    </message>
    <message>
        <source>Main menu</source>
        <translation>主菜单</translation>
    </message>
    <message>
        <source>Goodbye</source>
        <translation>结束通话</translation>
    </message>
    <message>
        <source>set not ready</source>
        <translation>设为未就绪</translation>
    </message>
    <message>
        <source>log out</source>
        <translation>登出</translation>
    </message>
    <message>
        <source>change skills</source>
        <translation>修改技能</translation>
    </message>
    <message>
        <source>message</source>
        <translation>发送消息</translation>
    </message>
    <message>
        <source>message the team</source>
        <translation>向班组发送消息</translation>
    </message>
    <message>
        <source>change the queue</source>
        <translation>修改队列</translation>
    </message>
    <message>
        <source>pause the campaign</source>
        <translation>暂停活动</translation>
    </message>
    <message>
        <source>resume the campaign</source>
        <translation>恢复活动</translation>
    </message>
    <message>
        <source>change the campaign&apos;s pacing</source>
        <translation>修改活动外呼节奏</translation>
    </message>
    <message>
        <source>listen in</source>
        <translation>监听</translation>
    </message>
    <message>
        <source>skills relaxed</source>
        <translation>放宽技能</translation>
    </message>
    <message>
        <source>overflow</source>
        <translation>溢出</translation>
    </message>
    <message>
        <source>fallback</source>
        <translation>兜底处理</translation>
    </message>
    <message>
        <source>New broadband order</source>
        <translation>宽带新装订单</translation>
    </message>
    <message>
        <source>Fault report</source>
        <translation>故障报修</translation>
    </message>
    <message>
        <source>Billing dispute</source>
        <translation>账单争议</translation>
    </message>
    <message>
        <source>Credit check</source>
        <translation>信用审核</translation>
    </message>
    <message>
        <source>Provisioning</source>
        <translation>开通中</translation>
    </message>
    <message>
        <source>Installed</source>
        <translation>已安装</translation>
    </message>
    <message>
        <source>Opened</source>
        <translation>已受理</translation>
    </message>
    <message>
        <source>Diagnosed</source>
        <translation>已诊断</translation>
    </message>
    <message>
        <source>Technician visit</source>
        <translation>上门维修</translation>
    </message>
    <message>
        <source>Under review</source>
        <translation>审核中</translation>
    </message>
    <message>
        <source>Credited</source>
        <translation>已退款</translation>
    </message>
    <message>
        <source>Rejected</source>
        <translation>已驳回</translation>
    </message>
    <message>
        <source>Check credit</source>
        <translation>开始信用审核</translation>
    </message>
    <message>
        <source>Approve credit</source>
        <translation>信用审核通过</translation>
    </message>
    <message>
        <source>Refuse credit</source>
        <translation>信用审核不通过</translation>
    </message>
    <message>
        <source>Mark installed</source>
        <translation>标记为已安装</translation>
    </message>
    <message>
        <source>Complete</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>Mark failed</source>
        <translation>标记为失败</translation>
    </message>
    <message>
        <source>Cancel the order</source>
        <translation>取消订单</translation>
    </message>
    <message>
        <source>Record a diagnosis</source>
        <translation>记录诊断</translation>
    </message>
    <message>
        <source>Send a technician</source>
        <translation>派遣技术员</translation>
    </message>
    <message>
        <source>Resolve</source>
        <translation>解决</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Reopen</source>
        <translation>重新打开</translation>
    </message>
    <message>
        <source>Start the review</source>
        <translation>开始审核</translation>
    </message>
    <message>
        <source>Credit the customer</source>
        <translation>给客户退款</translation>
    </message>
    <message>
        <source>Reject</source>
        <translation>驳回</translation>
    </message>
    <message>
        <source>Escalate</source>
        <translation>升级</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <source>Diagnosis</source>
        <translation>诊断结果</translation>
    </message>
    <message>
        <source>Resolution</source>
        <translation>解决办法</translation>
    </message>
    <message>
        <source>Visit date</source>
        <translation>上门日期</translation>
    </message>
    <message>
        <source>Amount credited</source>
        <translation>退款金额</translation>
    </message>
    <message>
        <source>Told</source>
        <translation>已通知</translation>
    </message>
    <message>
        <source>Handed to</source>
        <translation>转交给</translation>
    </message>
    <message>
        <source>Priority</source>
        <translation>优先级</translation>
    </message>
    <message>
        <source>Back office</source>
        <translation>后台</translation>
    </message>
    <message>
        <source>Supervisor</source>
        <translation>班长</translation>
    </message>
    <message>
        <source>Not yet sent to the order system</source>
        <translation>尚未发送到订单系统</translation>
    </message>
    <message>
        <source>Sent to the order system</source>
        <translation>已发送到订单系统</translation>
    </message>
    <message>
        <source>Refused by the order system</source>
        <translation>订单系统已拒绝</translation>
    </message>
    <message>
        <source>Kept here only</source>
        <translation>仅保存在本系统</translation>
    </message>
    <message>
        <source>Line</source>
        <translation>号码线路</translation>
    </message>
    <message>
        <source>Plan</source>
        <translation>套餐</translation>
    </message>
    <message>
        <source>Service</source>
        <translation>服务</translation>
    </message>
    <message>
        <source>Standard</source>
        <translation>标准</translation>
    </message>
    <message>
        <source>IVR</source>
        <translation>IVR</translation>
    </message>
    <message>
        <source>System</source>
        <translation>系统</translation>
    </message>
    <message>
        <source>Agent</source>
        <translation>坐席</translation>
    </message>
    <message>
        <source>Preview</source>
        <translation>预览式</translation>
    </message>
    <message>
        <source>Progressive</source>
        <translation>渐进式</translation>
    </message>
    <message>
        <source>Predictive</source>
        <translation>预测式</translation>
    </message>
    <message>
        <source>Fault</source>
        <translation>故障</translation>
    </message>
    <message>
        <source>Sales</source>
        <translation>购买</translation>
    </message>
    <message>
        <source>Order status</source>
        <translation>订单状态</translation>
    </message>
    <message>
        <source>Asked for an agent</source>
        <translation>要求人工服务</translation>
    </message>
    <message>
        <source>Bill</source>
        <translation>账单</translation>
    </message>
    <message>
        <source>Offer</source>
        <translation>推荐</translation>
    </message>
    <message>
        <source>Reminder</source>
        <translation>提醒</translation>
    </message>
    <message>
        <source>Newsletter</source>
        <translation>简讯</translation>
    </message>
    <message>
        <source>Notice</source>
        <translation>通知</translation>
    </message>
    <message>
        <source>Pending</source>
        <translation>待处理</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>Draft</source>
        <translation>草稿</translation>
    </message>
    <message>
        <source>Paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <source>Finished</source>
        <translation>已结束</translation>
    </message>
    <message>
        <source>English</source>
        <translation>英语</translation>
    </message>
    <message>
        <source>Chinese</source>
        <translation>中文</translation>
    </message>
    <message>
        <source>Cantonese</source>
        <translation>粤语</translation>
    </message>
    <message>
        <source>Spanish</source>
        <translation>西班牙语</translation>
    </message>
    <message>
        <source>French</source>
        <translation>法语</translation>
    </message>
    <message>
        <source>German</source>
        <translation>德语</translation>
    </message>
    <message>
        <source>Calling number</source>
        <translation>来电号码</translation>
    </message>
    <message>
        <source>Account number</source>
        <translation>账号</translation>
    </message>
    <message>
        <source>Customer system look-up</source>
        <translation>客户系统查询</translation>
    </message>
    <message>
        <source>Consumer</source>
        <translation>个人客户</translation>
    </message>
    <message>
        <source>Small business</source>
        <translation>小微企业</translation>
    </message>
    <message>
        <source>Enterprise</source>
        <translation>大企业</translation>
    </message>
    <message>
        <source>Public sector</source>
        <translation>公共部门</translation>
    </message>
    <message>
        <source>Answer</source>
        <translation>接听</translation>
    </message>
    <message>
        <source>Hang up</source>
        <translation>挂断</translation>
    </message>
    <message>
        <source>Hold</source>
        <translation>保持</translation>
    </message>
    <message>
        <source>Retrieve</source>
        <translation>恢复</translation>
    </message>
    <message>
        <source>Consult</source>
        <translation>咨询</translation>
    </message>
    <message>
        <source>Transfer</source>
        <translation>转接</translation>
    </message>
    <message>
        <source>Complete transfer</source>
        <translation>完成转接</translation>
    </message>
    <message>
        <source>Conference</source>
        <translation>会议</translation>
    </message>
    <message>
        <source>Keypad</source>
        <translation>拨号盘</translation>
    </message>
    <message>
        <source>Mute</source>
        <translation>静音</translation>
    </message>
    <message>
        <source>Dial</source>
        <translation>拨号</translation>
    </message>
    <message>
        <source>Change of state</source>
        <translation>状态切换</translation>
    </message>
    <message>
        <source>Correction of the call&apos;s data</source>
        <translation>更正通话数据</translation>
    </message>
</context>
<context>
    <name>LivePanel</name>
    <message>
        <source>Bill and balance (billing)</source>
        <translation>账单和余额（计费系统）</translation>
    </message>
    <message>
        <source>Products and services (order system)</source>
        <translation>产品和服务（订单系统）</translation>
    </message>
    <message>
        <source>Ask again</source>
        <translation>重新查询</translation>
    </message>
    <message>
        <source>Ask billing and the order system again</source>
        <translation>重新向计费系统和订单系统查询</translation>
    </message>
    <message>
        <source>No billing or order system is connected to this desktop: no live bill or products.</source>
        <translation>本工作台未连接计费系统或订单系统：不显示实时账单和产品。</translation>
    </message>
    <message>
        <source>Asking billing…</source>
        <translation>正在查询计费系统…</translation>
    </message>
    <message>
        <source>Asking the order system…</source>
        <translation>正在查询订单系统…</translation>
    </message>
    <message>
        <source>Billing is slow to answer; still waiting…</source>
        <translation>计费系统响应缓慢，仍在等待…</translation>
    </message>
    <message>
        <source>The order system is slow to answer; still waiting…</source>
        <translation>订单系统响应缓慢，仍在等待…</translation>
    </message>
    <message>
        <source>Account %1 · balance %2 · due %3</source>
        <translation>账户 %1 · 余额 %2 · 应付 %3</translation>
    </message>
    <message>
        <source>by %1</source>
        <translation>（截止 %1）</translation>
    </message>
    <message>
        <source>No lines on the current bill.</source>
        <translation>本期账单没有明细。</translation>
    </message>
    <message>
        <source>The order system lists no products.</source>
        <translation>订单系统中没有该客户的产品。</translation>
    </message>
    <message>
        <source>No billing system is connected to this desktop.</source>
        <translation>本工作台未连接计费系统。</translation>
    </message>
    <message>
        <source>No order system is connected to this desktop.</source>
        <translation>本工作台未连接订单系统。</translation>
    </message>
    <message>
        <source>Billing has no bill for this customer.</source>
        <translation>计费系统中没有该客户的账单。</translation>
    </message>
    <message>
        <source>The order system has nothing for this customer.</source>
        <translation>订单系统中没有该客户的数据。</translation>
    </message>
    <message>
        <source>Billing does not answer now.</source>
        <translation>计费系统目前没有响应。</translation>
    </message>
    <message>
        <source>The order system does not answer now.</source>
        <translation>订单系统目前没有响应。</translation>
    </message>
    <message>
        <source>Billing could not be asked.</source>
        <translation>无法查询计费系统。</translation>
    </message>
    <message>
        <source>The order system could not be asked.</source>
        <translation>无法查询订单系统。</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <source>ccenter — Log in</source>
        <extracomment>``authenticate(login, password) -&gt; AgentView | None``; blocking, so it runs on a worker thread.</extracomment>
        <translation>ccenter — 登录</translation>
    </message>
    <message>
        <source>as configured for your agent</source>
        <translation>默认使用坐席配置的分机</translation>
    </message>
    <message>
        <source>Agent</source>
        <translation>坐席</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <source>Extension</source>
        <translation>分机</translation>
    </message>
    <message>
        <source>Type your agent id and password.</source>
        <translation>请输入坐席工号和密码。</translation>
    </message>
    <message>
        <source>An extension is digits only.</source>
        <translation>分机号只能包含数字。</translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation>正在验证…</translation>
    </message>
    <message>
        <source>Unknown agent or wrong password.</source>
        <translation>坐席不存在或密码错误。</translation>
    </message>
    <message>
        <source>Type the extension of your phone.</source>
        <translation>请输入您电话的分机号。</translation>
    </message>
    <message>
        <source>Log-in failed: %1</source>
        <translation>登录失败：%1</translation>
    </message>
</context>
<context>
    <name>OrderForm</name>
    <message>
        <source>New order</source>
        <translation>新建订单</translation>
    </message>
    <message>
        <source>Product</source>
        <translation>产品</translation>
    </message>
    <message>
        <source>Quantity</source>
        <translation>数量</translation>
    </message>
    <message>
        <source>Amount (%1)</source>
        <translation>金额（%1）</translation>
    </message>
    <message>
        <source>Campaign</source>
        <translation>营销活动</translation>
    </message>
    <message>
        <source>linked to work item %1</source>
        <translation>已关联营销任务 %1</translation>
    </message>
    <message>
        <source>Choose or type a product.</source>
        <translation>请选择或输入产品。</translation>
    </message>
    <message>
        <source>The amount must be a number of at least 0, with at most two decimals.</source>
        <translation>金额必须是不小于 0 的数字，最多两位小数。</translation>
    </message>
</context>
<context>
    <name>PreviewBar</name>
    <message>
        <source>Next outbound call</source>
        <translation>下一个外呼</translation>
    </message>
    <message>
        <source>Call</source>
        <translation>呼叫</translation>
    </message>
    <message>
        <source>Skip…</source>
        <translation>跳过…</translation>
    </message>
    <message>
        <source>Schedule…</source>
        <translation>预约…</translation>
    </message>
    <message>
        <source>No outbound call is due now.</source>
        <translation>当前没有需要拨打的外呼。</translation>
    </message>
    <message>
        <source>first attempt</source>
        <translation>首次尝试</translation>
    </message>
    <message>
        <source>%1 · %2 · %3 · %4</source>
        <translation>%1 · %2 · %3 · %4</translation>
    </message>
    <message>
        <source>Calling %1…</source>
        <translation>正在呼叫 %1…</translation>
    </message>
    <message>
        <source>The call to %1 has ended.</source>
        <translation>与 %1 的通话已结束。</translation>
    </message>
    <message>
        <source>Connected to %1</source>
        <translation>已接通 %1</translation>
    </message>
    <message>
        <source>%1 is on hold</source>
        <translation>%1 保持中</translation>
    </message>
    <message>
        <source>Skip</source>
        <translation>跳过</translation>
    </message>
    <message>
        <source>Why is this call skipped?</source>
        <translation>为什么跳过这个呼叫？</translation>
    </message>
    <message>
        <source>Schedule the call</source>
        <translation>预约呼叫时间</translation>
    </message>
</context>
<context>
    <name>QueueStatsModel</name>
    <message>
        <source>%1: %2 waiting</source>
        <translation>%1：%2 个等待</translation>
    </message>
    <message>
        <source>No calls waiting</source>
        <translation>无来电等待</translation>
    </message>
</context>
<context>
    <name>QueueTiles</name>
    <message>
        <source>Waiting</source>
        <translation>等待中</translation>
    </message>
    <message>
        <source>Longest wait</source>
        <translation>最长等待</translation>
    </message>
    <message>
        <source>Service level today</source>
        <translation>今日服务水平</translation>
    </message>
    <message>
        <source>Last 15 min</source>
        <translation>最近15分钟</translation>
    </message>
    <message>
        <source>ASA</source>
        <translation>平均应答速度</translation>
    </message>
    <message>
        <source>Abandoned</source>
        <translation>放弃率</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>On a call</source>
        <translation>通话中</translation>
    </message>
    <message>
        <source>Wrap-up</source>
        <translation>话后处理</translation>
    </message>
    <message>
        <source>Not ready</source>
        <translation>未就绪</translation>
    </message>
    <message>
        <source>Target %1% in %2 s</source>
        <translation>目标：%2 秒内 %1%</translation>
    </message>
</context>
<context>
    <name>ScreenPopView</name>
    <message>
        <source>Unknown caller</source>
        <translation>未知来电</translation>
    </message>
    <message>
        <source>Search by name, number or account</source>
        <translation>按姓名、号码或账号搜索</translation>
    </message>
    <message>
        <source>Name of a new customer</source>
        <translation>新客户姓名</translation>
    </message>
    <message>
        <source>Create customer</source>
        <translation>创建客户</translation>
    </message>
    <message>
        <source>Or create a new customer:</source>
        <translation>或创建新客户：</translation>
    </message>
    <message>
        <source>Several customers have this number: choose one</source>
        <translation>多位客户使用此号码：请选择一位</translation>
    </message>
    <message>
        <source>No customer has the number %1.</source>
        <translation>没有客户使用号码 %1。</translation>
    </message>
</context>
<context>
    <name>ServiceRequestForm</name>
    <message>
        <source>New service request</source>
        <translation>新建服务请求</translation>
    </message>
    <message>
        <source>Category</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Summary</source>
        <translation>摘要</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>详情</translation>
    </message>
    <message>
        <source>Priority</source>
        <translation>优先级</translation>
    </message>
    <message>
        <source>Write a short summary of the request.</source>
        <translation>请简要填写请求摘要。</translation>
    </message>
</context>
<context>
    <name>Softphone</name>
    <message>
        <source>Answer</source>
        <translation>接听</translation>
    </message>
    <message>
        <source>Hang up</source>
        <translation>挂断</translation>
    </message>
    <message>
        <source>Hold</source>
        <translation>保持</translation>
    </message>
    <message>
        <source>Consult…</source>
        <translation>咨询…</translation>
    </message>
    <message>
        <source>Transfer…</source>
        <translation>转接…</translation>
    </message>
    <message>
        <source>Complete transfer</source>
        <translation>完成转接</translation>
    </message>
    <message>
        <source>Conference</source>
        <translation>会议</translation>
    </message>
    <message>
        <source>Keypad…</source>
        <translation>拨号盘…</translation>
    </message>
    <message>
        <source>Mute</source>
        <translation>静音</translation>
    </message>
    <message>
        <source>Number to dial</source>
        <translation>要拨打的号码</translation>
    </message>
    <message>
        <source>Dial</source>
        <translation>拨号</translation>
    </message>
    <message>
        <source>No call</source>
        <translation>无通话</translation>
    </message>
    <message>
        <source>unknown number</source>
        <translation>未知号码</translation>
    </message>
    <message>
        <source>Retrieve</source>
        <translation>恢复</translation>
    </message>
    <message>
        <source>Unmute</source>
        <translation>取消静音</translation>
    </message>
</context>
<context>
    <name>StateBar</name>
    <message>
        <source>Ready</source>
        <extracomment>Widest the queue summary gets in the state bar (pixels); longer summaries are elided, whole in the tooltip.</extracomment>
        <translation>就绪</translation>
    </message>
    <message>
        <source>Not ready</source>
        <translation>未就绪</translation>
    </message>
    <message>
        <source>+30 s</source>
        <translation>+30 秒</translation>
    </message>
    <message>
        <source>End wrap-up</source>
        <translation>结束话后处理</translation>
    </message>
    <message>
        <source>Customers…</source>
        <translation>客户…</translation>
    </message>
    <message>
        <source>Supervisor view…</source>
        <translation>班长视图…</translation>
    </message>
    <message>
        <source>%1 — %2</source>
        <translation>%1 — %2</translation>
    </message>
    <message>
        <source>Wrap-up %1</source>
        <translation>话后处理 %1</translation>
    </message>
    <message>
        <source>%1 contact(s) waiting for the database</source>
        <translation>%1 条联络记录等待提交到数据库</translation>
    </message>
    <message>
        <source>Telephony link lost: %1</source>
        <translation>电话链路中断：%1</translation>
    </message>
    <message numerus="yes">
        <source>%n contact(s) waiting for the database</source>
        <translation>
            <numerusform>%n 条联络记录等待提交到数据库</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>SupervisorLabels</name>
    <message>
        <source>Agent %1 is not logged on.</source>
        <translation>坐席 %1 未登录。</translation>
    </message>
    <message>
        <source>no reason given</source>
        <translation>未说明原因</translation>
    </message>
    <message>
        <source>Agent %1 is not ready (%2) for %3 s.</source>
        <translation>坐席 %1 未就绪（%2）已 %3 秒。</translation>
    </message>
    <message>
        <source>Agent %1 is idle because no call is waiting.</source>
        <translation>坐席 %1 空闲，因为没有来电在等待。</translation>
    </message>
    <message>
        <source>Agent %1 is ready and eligible for waiting calls; the next event will offer one.</source>
        <translation>坐席 %1 已就绪，可接等待中的来电；下一事件将为其分配一通。</translation>
    </message>
    <message>
        <source>%1 (%2 waiting) needs %3</source>
        <translation>%1（%2 通等待）需要 %3</translation>
    </message>
    <message>
        <source>Agent %1 is idle while calls wait because it lacks the skills: %2.</source>
        <translation>有来电等待而坐席 %1 空闲，因为缺少技能：%2。</translation>
    </message>
    <message>
        <source>Agent %1: %2 for %3 s.</source>
        <translation>坐席 %1：%2 已 %3 秒。</translation>
    </message>
    <message>
        <source> or </source>
        <translation> 或 </translation>
    </message>
    <message>
        <source>Call %1 waits: no logged-on agent has %2.</source>
        <translation>来电 %1 在等待：没有已登录的坐席具备 %2。</translation>
    </message>
    <message>
        <source>, </source>
        <translation>，</translation>
    </message>
    <message>
        <source>Call %1 waits in %2 for %3 s: it needs %4; the %5 eligible agents are: %6; %7 eligible calls are ahead of it (effective priority %8).</source>
        <translation>来电 %1 已在 %2 等待 %3 秒：需要 %4；%5 名符合条件的坐席状态为：%6；前面还有 %7 通符合条件的来电（有效优先级 %8）。</translation>
    </message>
    <message>
        <source>%1 in %2 s</source>
        <translation>%2 秒后%1</translation>
    </message>
    <message>
        <source>Next: %1.</source>
        <translation>下一步：%1。</translation>
    </message>
    <message>
        <source>No call is waiting in %1: %2 offered, %3 answered, %4 abandoned.</source>
        <translation>%1 没有来电在等待：进线 %2，接通 %3，放弃 %4。</translation>
    </message>
    <message>
        <source>paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <source>finished</source>
        <translation>已结束</translation>
    </message>
    <message>
        <source>not yet active</source>
        <translation>尚未启用</translation>
    </message>
    <message>
        <source>its start date is ahead</source>
        <translation>尚未到开始日期</translation>
    </message>
    <message>
        <source>its end date is past</source>
        <translation>已过结束日期</translation>
    </message>
    <message>
        <source>no work item left to call</source>
        <translation>没有待拨打的工作项</translation>
    </message>
    <message>
        <source>preview: agents place the calls</source>
        <translation>预览式：由坐席拨打</translation>
    </message>
    <message>
        <source>every number tried is on the do-not-call list</source>
        <translation>所尝试的号码都在免打扰名单上</translation>
    </message>
    <message>
        <source>outside the customers&apos; calling hours</source>
        <translation>不在客户的可呼叫时段内</translation>
    </message>
    <message>
        <source>customers already contacted enough (cap)</source>
        <translation>客户联系次数已达上限</translation>
    </message>
    <message>
        <source>no consent from the customers tried</source>
        <translation>所尝试的客户未授权联系</translation>
    </message>
    <message>
        <source>work items out of attempts</source>
        <translation>工单的尝试次数已用完</translation>
    </message>
    <message>
        <source>waiting for the retry delays</source>
        <translation>正在等待重试间隔</translation>
    </message>
    <message>
        <source>Preview</source>
        <translation>预览式</translation>
    </message>
    <message>
        <source>Progressive</source>
        <translation>渐进式</translation>
    </message>
    <message>
        <source>Predictive</source>
        <translation>预测式</translation>
    </message>
    <message>
        <source>dialing</source>
        <translation>正在拨打</translation>
    </message>
    <message>
        <source>Service level and calls waiting</source>
        <translation>服务水平与等待来电</translation>
    </message>
    <message>
        <source>Service level %</source>
        <translation>服务水平 %</translation>
    </message>
    <message>
        <source>Calls waiting</source>
        <translation>等待来电</translation>
    </message>
    <message>
        <source>Agents by state</source>
        <translation>各状态坐席数</translation>
    </message>
    <message>
        <source>Queue</source>
        <translation>队列</translation>
    </message>
    <message>
        <source>Staffing: the arrival rate is measured over 5 minutes first</source>
        <translation>人员配置：先统计 5 分钟的来电到达率</translation>
    </message>
    <message>
        <source>Erlang C: %1 agents needed for the target at %2 calls/h (handle time %3 s); %4 logged on</source>
        <translation>Erlang C：按每小时 %2 通来电（处理时长 %3 秒）达到目标需要 %1 名坐席；已登录 %4 名</translation>
    </message>
    <message>
        <source>Erlang A (callers&apos; patience %1 s): %2 agents</source>
        <translation>Erlang A（来电者平均耐心 %1 秒）：需要 %2 名坐席</translation>
    </message>
    <message>
        <source>Message from %1: %2</source>
        <extracomment>How long a message stays in the status bar (ms); the next one replaces it.</extracomment>
        <translation>来自 %1 的消息：%2</translation>
    </message>
</context>
<context>
    <name>SupervisorWindow</name>
    <message>
        <source>ccenter — Supervisor</source>
        <translation>ccenter — 班长席</translation>
    </message>
    <message>
        <source>All states</source>
        <translation>全部状态</translation>
    </message>
    <message>
        <source>Select a queue or an agent: the ACD says why things are as they are.</source>
        <translation>选择一个队列或坐席：ACD 会说明原因。</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>恢复</translation>
    </message>
    <message>
        <source>Pacing…</source>
        <translation>外呼节奏…</translation>
    </message>
    <message>
        <source>%1 minutes</source>
        <translation>%1 分钟</translation>
    </message>
    <message>
        <source>Export intervals to CSV…</source>
        <translation>导出时段报表为 CSV…</translation>
    </message>
    <message>
        <source>Queues</source>
        <translation>队列</translation>
    </message>
    <message>
        <source>Today</source>
        <translation>今日</translation>
    </message>
    <message>
        <source>Campaigns</source>
        <translation>营销活动</translation>
    </message>
    <message>
        <source>Agents</source>
        <translation>坐席</translation>
    </message>
    <message>
        <source>Team</source>
        <translation>班组</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Message team…</source>
        <translation>向班组发送消息…</translation>
    </message>
    <message>
        <source>Why</source>
        <translation>原因说明</translation>
    </message>
    <message>
        <source>All teams</source>
        <translation>全部班组</translation>
    </message>
    <message>
        <source>Set not ready</source>
        <translation>设为未就绪</translation>
    </message>
    <message>
        <source>Log out</source>
        <translation>登出</translation>
    </message>
    <message>
        <source>Change skills…</source>
        <translation>修改技能…</translation>
    </message>
    <message>
        <source>Send a message…</source>
        <translation>发送消息…</translation>
    </message>
    <message>
        <source>Listen in silently</source>
        <translation>静默监听</translation>
    </message>
    <message>
        <source>Whisper to the agent</source>
        <translation>对坐席耳语</translation>
    </message>
    <message>
        <source>Join the call</source>
        <translation>强插通话</translation>
    </message>
    <message>
        <source>Offer calls to the most skilled agent</source>
        <translation>来电分配给技能最高的坐席</translation>
    </message>
    <message>
        <source>Offer calls to the longest-idle agent</source>
        <translation>来电分配给空闲最久的坐席</translation>
    </message>
    <message>
        <source>Offer calls to the least occupied agent</source>
        <translation>来电分配给占用率最低的坐席</translation>
    </message>
    <message>
        <source>Priority…</source>
        <translation>优先级…</translation>
    </message>
    <message>
        <source>Overflow…</source>
        <translation>溢出…</translation>
    </message>
    <message>
        <source>Priority</source>
        <translation>优先级</translation>
    </message>
    <message>
        <source>Priority of %1&apos;s calls (added to each call&apos;s own):</source>
        <translation>%1 来电的优先级（加到每通来电自身的优先级上）：</translation>
    </message>
    <message>
        <source>Overflow</source>
        <translation>溢出</translation>
    </message>
    <message>
        <source>Overflow %1 to:</source>
        <translation>将 %1 溢出到：</translation>
    </message>
    <message>
        <source>After how many seconds of waiting:</source>
        <translation>等待多少秒后：</translation>
    </message>
    <message>
        <source>Pacing</source>
        <translation>外呼节奏</translation>
    </message>
    <message>
        <source>Dial mode of %1:</source>
        <translation>%1 的外呼模式：</translation>
    </message>
    <message>
        <source>Abandon target (%):</source>
        <translation>放弃率目标（%）：</translation>
    </message>
    <message>
        <source>Skills</source>
        <translation>技能</translation>
    </message>
    <message>
        <source>Skills of %1 (skill=level 1-10, comma separated):</source>
        <translation>%1 的技能（技能=等级 1-10，用逗号分隔）：</translation>
    </message>
    <message>
        <source>Skills are written skill=level, levels 1 to 10: %1</source>
        <translation>技能写作 技能=等级，等级 1 到 10：%1</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>消息</translation>
    </message>
    <message>
        <source>Message to %1:</source>
        <translation>发给 %1 的消息：</translation>
    </message>
    <message>
        <source>The action failed: %1</source>
        <translation>操作失败：%1</translation>
    </message>
    <message>
        <source>Done: %1 %2</source>
        <translation>已完成：%1 %2</translation>
    </message>
    <message>
        <source>Refused: %1 %2 (%3)</source>
        <translation>已拒绝：%1 %2（%3）</translation>
    </message>
    <message>
        <source>Failed: %1 %2 (%3)</source>
        <translation>失败：%1 %2（%3）</translation>
    </message>
    <message>
        <source>Export intervals</source>
        <translation>导出时段报表</translation>
    </message>
    <message>
        <source>Could not write %1: %2</source>
        <translation>无法写入 %1：%2</translation>
    </message>
    <message>
        <source>%1 intervals written to %2</source>
        <translation>已将 %1 个时段写入 %2</translation>
    </message>
    <message>
        <source>%1 waiting</source>
        <translation>%1 个等待</translation>
    </message>
    <message>
        <source>abandoned %1 of %2</source>
        <translation>放弃 %1 / %2</translation>
    </message>
    <message>
        <source>service level %1%</source>
        <translation>服务水平 %1%</translation>
    </message>
    <message>
        <source>No ACD answered: is `ccenter acd` running for this site?</source>
        <translation>没有 ACD 应答：本站点的 `ccenter acd` 是否在运行？</translation>
    </message>
    <message>
        <source>The ACD could not explain: %1</source>
        <translation>ACD 无法说明：%1</translation>
    </message>
</context>
<context>
    <name>WorkflowPanel</name>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Show where it is now</source>
        <translation>显示其当前状态</translation>
    </message>
    <message>
        <source>No step is open to an agent here.</source>
        <translation>当前状态下坐席没有可执行的步骤。</translation>
    </message>
    <message>
        <source>Take the step</source>
        <translation>执行</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Select an order or a service request to see its workflow.</source>
        <translation>选择一个订单或服务请求以查看其流程。</translation>
    </message>
    <message>
        <source>Loading the workflow…</source>
        <translation>正在加载流程…</translation>
    </message>
    <message>
        <source>Order %1</source>
        <translation>订单 %1</translation>
    </message>
    <message>
        <source>Service request %1</source>
        <translation>服务请求 %1</translation>
    </message>
    <message>
        <source>Now: %1, since %2</source>
        <translation>当前：%1，自 %2 起</translation>
    </message>
    <message>
        <source>%1 (its reference there: %2)</source>
        <translation>%1（对方编号：%2）</translation>
    </message>
    <message>
        <source>Overdue since %1: %2 has been told.</source>
        <translation>自 %1 起已超时：已通知%2。</translation>
    </message>
    <message>
        <source>Moves it to: %1</source>
        <translation>转到：%1</translation>
    </message>
    <message>
        <source>This step is not open to you now.</source>
        <translation>您现在不能执行此步骤。</translation>
    </message>
    <message>
        <source>%1: please fill in</source>
        <translation>%1：请填写</translation>
    </message>
    <message>
        <source>Please fill in: %1</source>
        <translation>请填写：%1</translation>
    </message>
    <message>
        <source>Taking the step “%1”…</source>
        <translation>正在执行“%1”…</translation>
    </message>
    <message>
        <source>Done: now %1.</source>
        <translation>已完成：当前为%1。</translation>
    </message>
    <message>
        <source>The step was refused: %1. This is the item as it is now.</source>
        <translation>步骤被拒绝：%1。以下为其当前状态。</translation>
    </message>
    <message>
        <source>The step could not be sent: %1</source>
        <translation>步骤无法发送：%1</translation>
    </message>
    <message>
        <source>The step was refused: %1</source>
        <translation>步骤被拒绝：%1</translation>
    </message>
    <message>
        <source>The step failed: %1</source>
        <translation>步骤失败：%1</translation>
    </message>
    <message>
        <source>The workflow could not be loaded: %1</source>
        <translation>无法加载流程：%1</translation>
    </message>
</context>
<context>
    <name>WrapUpPanel</name>
    <message>
        <source>Wrap-up</source>
        <translation>话后处理</translation>
    </message>
    <message>
        <source>Reason (for &apos;not interested&apos;)</source>
        <translation>原因（“不感兴趣”时填写）</translation>
    </message>
    <message>
        <source>Call the customer back at</source>
        <translation>预约回电时间</translation>
    </message>
    <message>
        <source>Do not call me (asked by the customer)</source>
        <translation>勿再致电（客户要求）</translation>
    </message>
    <message>
        <source>Lists the customer&apos;s numbers on the do-not-call list when the contact is saved: no campaign calls them from then on.</source>
        <translation>保存联络时将客户的号码加入免打扰名单：此后任何营销活动都不再拨打。</translation>
    </message>
    <message>
        <source>Notes</source>
        <translation>备注</translation>
    </message>
    <message>
        <source>Choose a disposition</source>
        <translation>选择处置结果</translation>
    </message>
    <message>
        <source>%1  (Alt+%2)</source>
        <translation>%1  （Alt+%2）</translation>
    </message>
    <message>
        <source>Result for: %1</source>
        <translation>结果对应：%1</translation>
    </message>
    <message>
        <source>Choose a disposition.</source>
        <translation>请选择处置结果。</translation>
    </message>
    <message>
        <source>This customer has no offer to record a result for.</source>
        <translation>该客户没有可记录结果的营销推荐。</translation>
    </message>
    <message>
        <source>Say why the customer is not interested.</source>
        <translation>请说明客户不感兴趣的原因。</translation>
    </message>
    <message>
        <source>The callback time has passed.</source>
        <translation>回电时间已过。</translation>
    </message>
    <message>
        <source>Identify the customer before promising a callback.</source>
        <translation>请先识别客户再预约回电。</translation>
    </message>
    <message>
        <source>Identify the customer: this call has no number to list.</source>
        <translation>请先识别客户：本次通话没有可加入名单的号码。</translation>
    </message>
    <message>
        <source>A customer who asks not to be called gets no callback.</source>
        <translation>客户要求勿再致电，不能预约回电。</translation>
    </message>
    <message>
        <source>No offer made</source>
        <translation>未做推荐</translation>
    </message>
    <message>
        <source>Accepted</source>
        <translation>已接受</translation>
    </message>
    <message>
        <source>Declined</source>
        <translation>已拒绝</translation>
    </message>
    <message>
        <source>Call back later</source>
        <translation>稍后回电</translation>
    </message>
    <message>
        <source>Not interested</source>
        <translation>不感兴趣</translation>
    </message>
</context>
</TS>
