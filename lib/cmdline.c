/*
 * Kernel command-line parsing: find a "key=value" word or a bare flag, undo
 * GRUB's escaping, match names against comma-separated lists.
 */
#include "lib/cmdline.h"
#include "lib/errno.h"
#include "lib/string.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* Finds key's value: returns where it starts and sets *len, or NULL if absent. */
static const char *find_value(const char *cmdline, const char *key, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (p && *p) {
		const char *word, *val;

		while (is_space(*p))
			p++;
		word = p;
		while (*p && !is_space(*p))
			p++;
		if (p == word || (size_t)(p - word) < klen || strncmp(word, key, klen) != 0)
			continue;
		val = word + klen;
		if (val == p) {
			*len = 0;
			return val;
		}
		if (*val != '=')
			continue;
		val++;
		*len = (size_t)(p - val);
		return val;
	}
	return NULL;
}

int cmdline_get(const char *cmdline, const char *key, char *buf, size_t size)
{
	size_t len;
	const char *val = find_value(cmdline, key, &len);

	if (!val)
		return -1;
	if (size) {
		size_t n = MIN(len, size - 1);

		memcpy(buf, val, n);
		buf[n] = '\0';
	}
	return (int)len;
}

void cmdline_unescape_grub(char *cmdline)
{
	char *out = cmdline;

	for (const char *p = cmdline; *p; p++) {
		if (p[0] == '\\' && (p[1] == '\\' || p[1] == '\'' || p[1] == '"'))
			p++;
		*out++ = *p;
	}
	*out = '\0';
}

int cmdline_get_rest(const char *cmdline, const char *key, char *buf, size_t size)
{
	size_t len;
	const char *val = find_value(cmdline, key, &len);

	if (!val)
		return -1;
	/* A bare flag has the empty value, whatever words follow it. */
	len = val[-1] == '=' ? strlen(val) : 0;
	while (len > 0 && is_space(val[len - 1]))
		len--;
	if (len >= size) {
		if (size)
			buf[0] = '\0';
		return -E2BIG;
	}
	memcpy(buf, val, len);
	buf[len] = '\0';
	return (int)len;
}

/* Parses all of s[0..len) as decimal or 0x hex; false if not a number or too big. */
static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t base = 10, v = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return false;
	for (; len; s++, len--) {
		uint64_t d;

		if (*s >= '0' && *s <= '9')
			d = (uint64_t)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (uint64_t)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (uint64_t)(*s - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

uint64_t cmdline_get_u64(const char *cmdline, const char *key, uint64_t dflt)
{
	size_t len;
	const char *val = find_value(cmdline, key, &len);
	uint64_t v;

	if (!val || !parse_u64(val, len, &v))
		return dflt;
	return v;
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
