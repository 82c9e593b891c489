/*
 * vprintfmt, the formatting engine of kprintf, the user programs' printf and
 * snprintf: it writes through a per-character callback.
 */
#include "lib/printfmt.h"
#include "lib/string.h"

struct fmt_spec {
	bool left;
	bool zero;
	bool plus;
	bool space;
	bool alt;
	int width;
	int prec; /* -1: none */
	int length; /* 0 int, 1 long, 2 long long, -1 short, -2 char */
};

struct sink {
	putch_fn putch;
	void *arg;
	int count;
};

static void emit(struct sink *s, int ch)
{
	s->putch(ch, s->arg);
	s->count++;
}

static void emit_pad(struct sink *s, int ch, int n)
{
	while (n-- > 0)
		emit(s, ch);
}

static void emit_string(struct sink *s, const struct fmt_spec *f, const char *str)
{
	int len;

	if (!str)
		str = "(null)";
	len = (int)strnlen(str, f->prec >= 0 ? (size_t)f->prec : (size_t)-1);
	if (!f->left)
		emit_pad(s, ' ', f->width - len);
	for (int i = 0; i < len; i++)
		emit(s, str[i]);
	if (f->left)
		emit_pad(s, ' ', f->width - len);
}

static void emit_number(struct sink *s, const struct fmt_spec *f,
			unsigned long long v, bool negative, int base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	const char *prefix = "";
	int len = 0, zeros, plen, total;

	while (v) {
		buf[len++] = digits[v % base];
		v /= base;
	}
	if (len == 0 && f->prec != 0)
		buf[len++] = '0';
	if (negative)
		prefix = "-";
	else if (f->plus && base == 10)
		prefix = "+";
	else if (f->space && base == 10)
		prefix = " ";
	else if (f->alt && base == 16 && len && buf[len - 1] != '0')
		prefix = upper ? "0X" : "0x";
	else if (f->alt && base == 8 && f->prec <= len && (len == 0 || buf[len - 1] != '0'))
		prefix = "0";
	plen = (int)strlen(prefix);
	zeros = f->prec > len ? f->prec - len : 0;
	if (f->zero && !f->left && f->prec < 0 && f->width > plen + len)
		zeros = f->width - plen - len;
	total = plen + zeros + len;
	if (!f->left)
		emit_pad(s, ' ', f->width - total);
	for (int i = 0; i < plen; i++)
		emit(s, prefix[i]);
	emit_pad(s, '0', zeros);
	while (len)
		emit(s, buf[--len]);
	if (f->left)
		emit_pad(s, ' ', f->width - total);
}

static const char *parse_flags(const char *p, struct fmt_spec *f)
{
	for (;; p++) {
		switch (*p) {
		case '-': f->left = true; break;
		case '0': f->zero = true; break;
		case '+': f->plus = true; break;
		case ' ': f->space = true; break;
		case '#': f->alt = true; break;
		default: return p;
		}
	}
}

static const char *parse_number(const char *p, int *out, va_list *ap)
{
	if (*p == '*') {
		*out = va_arg(*ap, int);
		return p + 1;
	}
	*out = 0;
	while (*p >= '0' && *p <= '9')
		*out = *out * 10 + (*p++ - '0');
	return p;
}

static const char *parse_length(const char *p, int *length)
{
	*length = 0;
	if (*p == 'h') {
		*length = p[1] == 'h' ? -2 : -1;
		return p + (p[1] == 'h' ? 2 : 1);
	}
	if (*p == 'l') {
		*length = p[1] == 'l' ? 2 : 1;
		return p + (p[1] == 'l' ? 2 : 1);
	}
	if (*p == 'z' || *p == 't' || *p == 'j') {
		*length = 2;
		return p + 1;
	}
	return p;
}

static unsigned long long fetch_unsigned(int length, va_list *ap)
{
	switch (length) {
	case 2: return va_arg(*ap, unsigned long long);
	case 1: return va_arg(*ap, unsigned long);
	case -1: return (unsigned short)va_arg(*ap, unsigned int);
	case -2: return (unsigned char)va_arg(*ap, unsigned int);
	default: return va_arg(*ap, unsigned int);
	}
}

static long long fetch_signed(int length, va_list *ap)
{
	switch (length) {
	case 2: return va_arg(*ap, long long);
	case 1: return va_arg(*ap, long);
	case -1: return (short)va_arg(*ap, int);
	case -2: return (signed char)va_arg(*ap, int);
	default: return va_arg(*ap, int);
	}
}

static void format_one(struct sink *s, struct fmt_spec *f, char conv, va_list *ap)
{
	long long sv;
	char c;

	/* The + and space flags only apply to signed conversions. */
	if (conv != 'd' && conv != 'i')
		f->plus = f->space = false;
	switch (conv) {
	case 'c':
		c = (char)va_arg(*ap, int);
		if (!f->left)
			emit_pad(s, ' ', f->width - 1);
		emit(s, c);
		if (f->left)
			emit_pad(s, ' ', f->width - 1);
		break;
	case 's':
		emit_string(s, f, va_arg(*ap, const char *));
		break;
	case 'd':
	case 'i':
		sv = fetch_signed(f->length, ap);
		emit_number(s, f, sv < 0 ? -(unsigned long long)sv : (unsigned long long)sv,
			    sv < 0, 10, false);
		break;
	case 'u':
		emit_number(s, f, fetch_unsigned(f->length, ap), false, 10, false);
		break;
	case 'o':
		emit_number(s, f, fetch_unsigned(f->length, ap), false, 8, false);
		break;
	case 'x':
	case 'X':
		emit_number(s, f, fetch_unsigned(f->length, ap), false, 16, conv == 'X');
		break;
	case 'p':
		f->alt = true;
		emit_number(s, f, (uintptr_t)va_arg(*ap, void *), false, 16, false);
		break;
	case '%':
		emit(s, '%');
		break;
	default:
		/* Unknown conversion: show it rather than silently dropping it. */
		emit(s, '%');
		if (conv)
			emit(s, conv);
	}
}

int vprintfmt(putch_fn putch, void *arg, const char *fmt, va_list ap)
{
	struct sink s = { putch, arg, 0 };
	va_list aq;

	va_copy(aq, ap);
	while (*fmt) {
		struct fmt_spec f = { .prec = -1 };

		if (*fmt != '%') {
			emit(&s, *fmt++);
			continue;
		}
		fmt = parse_flags(fmt + 1, &f);
		fmt = parse_number(fmt, &f.width, &aq);
		if (f.width < 0) {
			f.left = true;
			f.width = -f.width;
		}
		if (*fmt == '.') {
			fmt = parse_number(fmt + 1, &f.prec, &aq);
			if (f.prec < 0)
				f.prec = -1;
		}
		fmt = parse_length(fmt, &f.length);
		format_one(&s, &f, *fmt, &aq);
		if (*fmt)
			fmt++;
	}
	va_end(aq);
	return s.count;
}

struct buf_sink {
	char *buf;
	size_t size;
	size_t pos;
};

static void buf_putch(int ch, void *arg)
{
	struct buf_sink *b = arg;

	if (b->pos + 1 < b->size)
		b->buf[b->pos] = (char)ch;
	b->pos++;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct buf_sink b = { buf, size, 0 };
	int n = vprintfmt(buf_putch, &b, fmt, ap);

	if (size)
		buf[b.pos < size ? b.pos : size - 1] = '\0';
	return n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
