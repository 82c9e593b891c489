/*
 * hello: prints its arguments and exits with status 40 + argc, or 1 when a
 * system call that takes a pointer fails (write of the greeting, stat of its
 * own name).
 */
#include "user/lib/ulib.h"

int main(int argc, char **argv)
{
	static const char greeting[] = "hello from ring 3:";
	struct ustat st;

	if (write(FD_STDOUT, greeting, sizeof(greeting) - 1) != sizeof(greeting) - 1)
		return 1;
	for (int i = 0; i < argc; i++)
		printf(" [%s]", argv[i]);
	printf("\n");
	if (stat("/boot/user/hello", &st) != 0 || st.size == 0)
		return 1;
	return 40 + argc;
}
