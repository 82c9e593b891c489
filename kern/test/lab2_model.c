/*
 * The randomized model test of address spaces (see lab2_model.h). Portable:
 * it uses only kern/aspace.h, lab 1's walker and the environment it is given.
 */
#include "kern/test/lab2_model.h"
#include "kern/trap.h"
#include "lib/errno.h"
#include "lib/printfmt.h"
#include "lib/string.h"

/* The window: 2048 pages (8 MiB), the middle of it a PML4 boundary. */
#define NPAGES 2048
#define PAGES_2M 512
#define FULL_CHECK_EVERY 64

enum page_kind { PG_NONE, PG_PHYS, PG_OWNED, PG_RESERVED };
static const char *const kind_names[] = { "unmapped", "mapped", "allocated", "reserved" };

struct mpage {
	uint8_t kind;
	uint8_t prot; /* AS_PROT_MASK bits */
	bool huge; /* PG_PHYS in a 2 MiB leaf */
	paddr_t pa; /* PG_PHYS: the target; PG_OWNED: its frame once seen, else 0 */
};

struct model {
	const struct as_model_env *env;
	struct rng *rng;
	struct aspace as;
	uint64_t base; /* va of page 0 */
	size_t frames_base; /* free frames with the space empty */
	struct mpage pages[NPAGES];
	paddr_t freed[64]; /* frames the last operation must have freed */
	int nfreed;
	int op;
	char what[96]; /* the operation, for messages */
	char *msg;
	size_t size;
};

static struct model the_model;

static int fail(struct model *m, const char *fmt, ...) __printf(2, 3);

static int fail(struct model *m, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(m->msg, m->size, "op %d, %s: ", m->op, m->what);

	va_start(ap, fmt);
	vsnprintf(m->msg + n, m->size - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

#define CHECK(m, cond, ...)                            \
	do {                                           \
		if (!(cond))                           \
			return fail((m), __VA_ARGS__); \
	} while (0)

static uint64_t page_va(const struct model *m, int i)
{
	return m->base + (uint64_t)i * PAGE_SIZE;
}

static pte_t prot_bits(unsigned prot)
{
	return (prot & AS_WRITE ? PTE_W : 0) | (prot & AS_USER ? PTE_U : 0) |
	       (prot & AS_EXEC ? 0 : PTE_NX);
}

static unsigned rand_prot(struct model *m)
{
	return (unsigned)rng_below(m->rng, AS_PROT_MASK + 1);
}

/* ---- Checking the space against the model ------------------------------------ */

static int check_page(struct model *m, int i)
{
	const struct mpage *p = &m->pages[i];
	uint64_t va = page_va(m, i);
	struct pt_cursor c;
	struct pt_translation t;
	int r = pt_walk(m->as.pml4, va, &c);
	pte_t want = PTE_P | prot_bits(p->prot);

	if (p->kind == PG_NONE || p->kind == PG_RESERVED) {
		CHECK(m, r == -ENOENT, "page %#lx should be %s, pt_walk returned %d", va,
		      kind_names[p->kind], r);
		if (p->kind == PG_NONE) {
			CHECK(m, c.level > PT_LEVEL_PT || *c.pte == 0,
			      "page %#lx should be unmapped, its PTE is %#lx", va, *c.pte);
			return 0;
		}
		CHECK(m, c.level == PT_LEVEL_PT,
		      "reserved page %#lx: no PTE (walk stopped at "
		      "level %d)",
		      va, c.level);
		CHECK(m,
		      (*c.pte & ~PTE_NX & ~0xfffUL) == 0 &&
			      (*c.pte & (AS_PTE_RESERVED | PTE_P | PTE_W | PTE_U | PTE_NX)) ==
				      (AS_PTE_RESERVED | prot_bits(p->prot)),
		      "reserved page %#lx: PTE %#lx, expected AS_PTE_RESERVED|%#lx", va, *c.pte,
		      prot_bits(p->prot));
		return 0;
	}
	CHECK(m, r == 0, "page %#lx should be %s, pt_walk returned %d", va, kind_names[p->kind], r);
	pt_translate(m->as.pml4, va, &t);
	CHECK(m, t.flags == want, "page %#lx: flags %#lx, expected %#lx", va, t.flags, want);
	if (p->kind == PG_PHYS) {
		CHECK(m, t.pa == p->pa, "page %#lx: pa %#lx, expected %#lx", va, t.pa, p->pa);
		CHECK(m, t.level == (p->huge ? PT_LEVEL_PD : PT_LEVEL_PT),
		      "page %#lx: a level-%d leaf, expected level %d", va, t.level,
		      p->huge ? PT_LEVEL_PD : PT_LEVEL_PT);
		CHECK(m, !(*c.pte & AS_PTE_OWNED),
		      "page %#lx: mapped with aspace_map but marked "
		      "owned",
		      va);
		return 0;
	}
	CHECK(m, t.level == PT_LEVEL_PT, "allocated page %#lx: a level-%d leaf", va, t.level);
	CHECK(m, *c.pte & AS_PTE_OWNED, "allocated page %#lx: not marked AS_PTE_OWNED", va);
	CHECK(m, m->env->frame_allocated(t.pa), "allocated page %#lx: its frame %#lx is free", va,
	      t.pa);
	if (!p->pa)
		m->pages[i].pa = t.pa;
	CHECK(m, t.pa == p->pa, "allocated page %#lx: frame %#lx, it was %#lx", va, t.pa, p->pa);
	return 0;
}

/* expected_frames - tables and owned frames the model's pages need. */
static size_t expected_frames(const struct model *m)
{
	size_t n = 0;
	int used_1g = -1, used_512g = -1;

	for (int blk = 0; blk < NPAGES / PAGES_2M; blk++) {
		uint64_t va = page_va(m, blk * PAGES_2M);
		bool used = false, pt = false;

		for (int i = blk * PAGES_2M; i < (blk + 1) * PAGES_2M; i++) {
			const struct mpage *p = &m->pages[i];

			used |= p->kind != PG_NONE;
			pt |= p->kind != PG_NONE && !p->huge;
			n += p->kind == PG_OWNED;
		}
		if (!used)
			continue;
		n += pt;
		/* The window's 2 MiB blocks are in address order: count each PD, PDPT once. */
		if ((int)(va >> 30) != used_1g)
			n++;
		if ((int)(va >> 39) != used_512g)
			n++;
		used_1g = (int)(va >> 30);
		used_512g = (int)(va >> 39);
	}
	return n;
}

static int check_frames(struct model *m)
{
	size_t want = expected_frames(m), used = m->frames_base - m->env->free_frames();

	CHECK(m, used == want,
	      "%zu frames in use by the space, expected %zu (tables + owned "
	      "frames; an empty table must be freed)",
	      used, want);
	for (int i = 0; i < m->nfreed; i++)
		CHECK(m, !m->env->frame_allocated(m->freed[i]),
		      "the frame %#lx of an unmapped page was not freed", m->freed[i]);
	m->nfreed = 0;
	return 0;
}

static int check_pages(struct model *m, int first, int n)
{
	for (int i = MAX(first, 0); i < MIN(first + n, NPAGES); i++)
		if (check_page(m, i))
			return -1;
	return 0;
}

/* ---- Operations: predict, call, update the model -------------------------------- */

static bool all_kind(const struct model *m, int first, int n, bool used)
{
	for (int i = first; i < first + n; i++)
		if ((m->pages[i].kind != PG_NONE) != used)
			return false;
	return true;
}

/* A random range of the window: mostly short, sometimes long. */
static void rand_range(struct model *m, int *first, int *n, int max_len)
{
	int len = 1 + (int)rng_below(m->rng, rng_below(m->rng, 4) ? 16 : (uint64_t)max_len);

	len = MIN(len, NPAGES);
	*first = (int)rng_below(m->rng, NPAGES - len + 1);
	*n = len;
}

/* unsplit - a 2 MiB leaf that page i is inside of (not at its start) is split. */
static void unsplit(struct model *m, int i)
{
	int blk = i / PAGES_2M * PAGES_2M;

	if (i >= NPAGES || i % PAGES_2M == 0 || !m->pages[i].huge)
		return;
	for (int k = blk; k < blk + PAGES_2M; k++)
		m->pages[k].huge = false;
}

static int do_map(struct model *m, int kind)
{
	int first, n, r, want;
	unsigned prot = rand_prot(m);
	uint64_t va, len;
	paddr_t pa = 0;
	long budget = rng_below(m->rng, 8) == 0 ? (long)rng_below(m->rng, 4) : -1;

	rand_range(m, &first, &n, kind == PG_OWNED ? 48 : kind == PG_RESERVED ? 256 : 1200);
	/* Half the physical mappings cover one or two whole 2 MiB blocks: large pages. */
	if (kind == PG_PHYS && rng_below(m->rng, 2)) {
		int head = rng_below(m->rng, 2) ? (int)rng_below(m->rng, 8) : 0;
		int blocks = 1 + (int)rng_below(m->rng, 2), tail = (int)rng_below(m->rng, 8);
		int block = (int)rng_below(m->rng, NPAGES / PAGES_2M);

		first = MAX(block * PAGES_2M - head, 0);
		n = MIN(head + PAGES_2M * blocks + tail, NPAGES - first);
	}
	va = page_va(m, first);
	len = (uint64_t)n * PAGE_SIZE;
	if (kind == PG_PHYS) {
		pa = (0x100000000UL + rng_below(m->rng, 1UL << 40)) & ~(HUGE_2M - 1);
		if (rng_below(m->rng, 3))
			pa += va & (HUGE_2M - 1);
		else
			pa += rng_below(m->rng, PAGES_2M) * PAGE_SIZE;
	}
	snprintf(m->what, sizeof(m->what), "%s(%#lx, %#lx pages, prot %#x)%s",
		 kind == PG_PHYS  ? "map" :
		 kind == PG_OWNED ? "alloc" :
				    "reserve",
		 va, (uint64_t)n, prot, budget >= 0 ? " with few frames" : "");
	want = all_kind(m, first, n, false) ? 0 : -EEXIST;
	m->env->fail_after(budget);
	if (kind == PG_PHYS)
		r = aspace_map(&m->as, va, pa, len, prot);
	else if (kind == PG_OWNED)
		r = aspace_alloc(&m->as, va, len, prot);
	else
		r = aspace_reserve(&m->as, va, len, prot);
	m->env->fail_after(-1);
	CHECK(m, r == want || (budget >= 0 && want == 0 && r == -ENOMEM),
	      "returned %d, expected %d", r, want);
	if (r)
		return 0;
	for (int i = first; i < first + n; i++) {
		uint64_t pva = page_va(m, i);
		struct mpage *p = &m->pages[i];

		p->kind = (uint8_t)kind;
		p->prot = (uint8_t)prot;
		p->pa = kind == PG_PHYS ? pa + (pva - va) : 0;
		p->huge = false;
		/* A whole 2 MiB of both va and pa aligned: the map must use a large page. */
		if (kind == PG_PHYS && IS_ALIGNED(pva ^ p->pa, HUGE_2M)) {
			uint64_t blk = ROUNDDOWN(pva, HUGE_2M);

			p->huge = blk >= va && blk + HUGE_2M <= va + len;
		}
	}
	return 0;
}

static int do_unmap(struct model *m)
{
	int first, n, r;

	rand_range(m, &first, &n, 700);
	/* Now and then everything: room for large mappings again. */
	if (rng_below(m->rng, 16) == 0) {
		first = 0;
		n = NPAGES;
	}
	snprintf(m->what, sizeof(m->what), "unmap(%#lx, %#lx pages)", page_va(m, first),
		 (uint64_t)n);
	r = aspace_unmap(&m->as, page_va(m, first), (uint64_t)n * PAGE_SIZE);
	CHECK(m, r == 0, "returned %d", r);
	unsplit(m, first);
	unsplit(m, first + n);
	m->nfreed = 0;
	for (int i = first; i < first + n; i++) {
		struct mpage *p = &m->pages[i];

		if (p->kind == PG_OWNED && p->pa && m->nfreed < (int)ARRAY_SIZE(m->freed))
			m->freed[m->nfreed++] = p->pa;
		memset(p, 0, sizeof(*p));
	}
	return 0;
}

static int do_protect(struct model *m)
{
	int first, n, r, want;
	unsigned prot = rand_prot(m);

	rand_range(m, &first, &n, 300);
	/* Mostly inside what is mapped, so that most calls succeed. */
	if (rng_below(m->rng, 4)) {
		while (first > 0 && m->pages[first - 1].kind != PG_NONE && rng_below(m->rng, 8))
			first--;
		for (n = 1; first + n < NPAGES && m->pages[first + n].kind != PG_NONE &&
			    rng_below(m->rng, 64);
		     n++)
			;
	}
	snprintf(m->what, sizeof(m->what), "protect(%#lx, %#lx pages, %#x)", page_va(m, first),
		 (uint64_t)n, prot);
	want = all_kind(m, first, n, true) ? 0 : -ENOENT;
	r = aspace_protect(&m->as, page_va(m, first), (uint64_t)n * PAGE_SIZE, prot);
	CHECK(m, r == want, "returned %d, expected %d", r, want);
	if (r)
		return 0;
	unsplit(m, first);
	unsplit(m, first + n);
	for (int i = first; i < first + n; i++)
		m->pages[i].prot = (uint8_t)prot;
	return 0;
}

static bool allows(unsigned prot, unsigned error)
{
	if ((error & PF_WRITE) && !(prot & AS_WRITE))
		return false;
	if ((error & PF_USER) && !(prot & AS_USER))
		return false;
	return !((error & PF_INSTR) && !(prot & AS_EXEC));
}

static int do_fault(struct model *m)
{
	static const unsigned errors[] = { 0,	     PF_WRITE,		PF_USER, PF_USER | PF_WRITE,
					   PF_INSTR, PF_USER | PF_INSTR };
	int i = (int)rng_below(m->rng, NPAGES), r, want;
	unsigned error = errors[rng_below(m->rng, ARRAY_SIZE(errors))];
	struct mpage *p = &m->pages[i];
	uint64_t va = page_va(m, i) + rng_below(m->rng, PAGE_SIZE);

	snprintf(m->what, sizeof(m->what), "aspace_handle_fault(%#lx, error %#x) on a %s page", va,
		 error, kind_names[p->kind]);
	want = p->kind != PG_NONE && allows(p->prot, error) ? 0 : -EFAULT;
	r = aspace_handle_fault(&m->as, va, error);
	CHECK(m, r == want, "returned %d, expected %d", r, want);
	if (r == 0 && p->kind == PG_RESERVED)
		p->kind = PG_OWNED;
	return check_page(m, i);
}

/* One random operation, then the checks. */
static int step(struct model *m)
{
	unsigned dice = (unsigned)rng_below(m->rng, 100);
	int r;

	m->what[0] = '\0';
	if (dice < 22)
		r = do_map(m, PG_PHYS);
	else if (dice < 36)
		r = do_map(m, PG_OWNED);
	else if (dice < 50)
		r = do_map(m, PG_RESERVED);
	else if (dice < 72)
		r = do_unmap(m);
	else if (dice < 88)
		r = do_protect(m);
	else
		r = do_fault(m);
	if (r || check_frames(m))
		return -1;
	if (m->op % FULL_CHECK_EVERY == 0)
		return check_pages(m, 0, NPAGES);
	/* Between full checks: a few pages at random. */
	for (int k = 0; k < 8; k++)
		if (check_page(m, (int)rng_below(m->rng, NPAGES)))
			return -1;
	return 0;
}

int as_model_run(const struct as_model_env *env, struct rng *rng, int nops, char *msg, size_t size)
{
	struct model *m = &the_model;
	unsigned slot = 1 + (unsigned)rng_below(rng, 255);
	int r = 0;

	memset(m, 0, sizeof(*m));
	m->env = env;
	m->rng = rng;
	m->msg = msg;
	m->size = size;
	m->base = ((uint64_t)slot << 39) - NPAGES / 2 * PAGE_SIZE;
	snprintf(m->what, sizeof(m->what), "aspace_init");
	r = aspace_init(&m->as);
	if (r)
		return fail(m, "returned %d", r);
	m->frames_base = env->free_frames();
	if (env->watch)
		env->watch(&m->as);
	for (m->op = 1; m->op <= nops && !r; m->op++) {
		r = step(m);
		if (!r && env->check && m->op % AS_MODEL_CHECK_EVERY == 0 && m->op < nops)
			env->check();
	}
	if (!r) {
		m->op = 0;
		snprintf(m->what, sizeof(m->what), "after %d operations", nops);
		r = check_pages(m, 0, NPAGES);
	}
	if (env->check)
		env->check();
	if (env->watch)
		env->watch(NULL);
	aspace_destroy(&m->as);
	return r;
}
