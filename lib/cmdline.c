#include "lib/cmdline.h"
#include "lib/string.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

int cmdline_get(const char *cmdline, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (p && *p) {
		const char *word, *val, *end;

		while (is_space(*p))
			p++;
		word = p;
		while (*p && !is_space(*p))
			p++;
		end = p;
		if ((size_t)(end - word) < klen || strncmp(word, key, klen) != 0)
			continue;
		val = word + klen;
		if (val == end) {
			if (size)
				buf[0] = '\0';
			return 0;
		}
		if (*val != '=')
			continue;
		val++;
		if (size) {
			size_t n = MIN((size_t)(end - val), size - 1);

			memcpy(buf, val, n);
			buf[n] = '\0';
		}
		return (int)(end - val);
	}
	return -1;
}

uint64_t cmdline_get_u64(const char *cmdline, const char *key, uint64_t dflt)
{
	char buf[32];
	const char *end;
	uint64_t v;

	if (cmdline_get(cmdline, key, buf, sizeof(buf)) <= 0)
		return dflt;
	v = strtoul(buf, &end, 0);
	return *end ? dflt : v;
}

static bool pattern_selects(const char *pat, size_t plen, const char *name)
{
	if (plen == 3 && strncmp(pat, "all", 3) == 0)
		return true;
	if (strncmp(pat, name, plen) != 0)
		return false;
	return name[plen] == '\0' || name[plen] == '.';
}

bool list_match(const char *list, const char *name)
{
	const char *p = list;

	while (*p) {
		const char *q = strchr(p, ',');
		size_t len = q ? (size_t)(q - p) : strlen(p);

		if (len && pattern_selects(p, len, name))
			return true;
		if (!q)
			break;
		p = q + 1;
	}
	return false;
}
