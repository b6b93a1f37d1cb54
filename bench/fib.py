"""Benchmark baseline: bench/fib.vyn's algorithm in CPython. Prints 196418."""


def fib(n: int) -> int:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def main() -> None:
    print(fib(27))


if __name__ == "__main__":
    main()
