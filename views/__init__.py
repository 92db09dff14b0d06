"""Presentation: texts and locales (zh/en), callback data, keyboards and the renderers of
replies, cards, posts, progress and reports. Aiogram types allowed; no database, no Bot."""
