unanswered-none = No unanswered questions in the last 7 days. 🎉
unanswered-footer = All of them as CSV: python main.py faq unanswered --out gaps.csv
admin-private-only = This command works in a private chat with me.

admin-stats-usage = Usage: /stats (support desk and community), /stats support, /stats community or /stats campaigns
community-stats-title = 👥 Community
community-stats-standing = Members { $members } · live streaks { $streaks } (longest { $longest } days, median { $median })
community-stats-tiers = Tiers: { $tiers }
community-stats-block = Check-ins { $checkins } by { $checkers } members · points issued { $issued }, spent { $spent }
    Coupons claimed { $claimed } · used at the shop { $redeemed }
