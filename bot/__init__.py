"""khabar's front ends: the terminal CLI and chat, the Telegram bot. They render; they do not retrieve."""
