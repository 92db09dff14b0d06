# 从客服台（结束工单时）和 /unanswered（管理员分拣）教会 FAQ。
learn-offer = 📚 教会 FAQ。顾客问的是：
    «{ $question }»
    点一下能回答它的条目：下一位这样问的顾客就会收到这条答案。
learn-offer-no-guess = 📚 教会 FAQ。顾客问的是：
    «{ $question }»
    没有相近的 FAQ 条目。
learn-btn-new = 🆕 用我的回复新建条目
learn-learned = ✅ 已学会：从下一位顾客起，«{ $question }» 会收到“{ $entry }”（{ $id }）的答案。
learn-created = ✅ 新 FAQ 条目 { $id }：«{ $question }» 现在以你的回复作答。要写进 FAQ 文件：python main.py faq export --out faq.yaml
learn-already = «{ $question }» 已经在“{ $entry }”（{ $id }）里了。
learn-already-created = 这个工单已经建过 FAQ 条目（{ $id }）。
learn-no-entry = 这个 FAQ 条目已不存在，请另选一个。
learn-no-language = “{ $entry }”（{ $id }）还没有 { $language } 答案：请先在 FAQ 文件里补上。
learn-not-found = 这个工单或问题已不存在。
learn-not-closed = 请先结束工单：只从结束的对话里学习。
learn-triaged = 这个问题已经有人处理了。
learn-no-question = 顾客在这个工单里没有用文字提问，没有可学的内容。
learn-no-reply = 这个工单里还没有客服的文字回复，请先回复顾客。
learn-no-desk = 客服台未开启（没有设置 SUPPORT_CHAT_ID），无法转给客服。
learn-handed = 🙋 «{ $question }» 已转到客服台，工单 #{ $id }。客服结束工单时，可以用自己的回答新建 FAQ 条目。
learn-ignored = 🙈 已忽略：«{ $question }» 不再出现在列表里。
learn-stale-button = 这个按钮已失效。请重新发送 /unanswered，或重新结束工单以获得新的选项。
learn-handed-note = 📚 管理员请你回答顾客的这个问题：«{ $question }»
learn-handed-customer = 你之前问过：«{ $question }»。同事稍后会在这里回复你。

triage-title = 📚 FAQ 未能回答的问题（最近 7 天）：共 { $total } 条。以下是第 { $first }–{ $last } 条，问得最多的在前。每条可以：点能回答它的条目、忽略，或转给客服。
triage-item = { $times } 次：«{ $question }» · { $customers } 位顾客 · { $language }
triage-no-guess = 没有相近的 FAQ 条目：转给客服，客服可以用自己的回答新建条目。
triage-btn-ignore = 🙈 忽略
triage-btn-hand = 🙋 转给客服
triage-btn-more = 更多问题 ▶
