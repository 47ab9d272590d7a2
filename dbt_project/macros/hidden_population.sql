{#-
  The hidden-population estimators, written once. The mart (mart_hidden_population) and the
  calibration harness (lagesbild/calibration, `make calibrate`) both render these macros, so the
  harness scores the very SQL the mart runs. Plain Jinja only (no dbt context): the harness renders
  this file with jinja2 and runs the SQL in DuckDB. Every argument is a SQL expression.

  Intervals are the log-normal intervals of Chao (1987): the unseen part f0 = N - S_obs is taken
  as log-normal, so the interval is [S_obs + f0 / C, S_obs + f0 * C] with
  C = exp(1.96 sqrt(ln(1 + var / f0^2))). It never falls below the advertisers seen (S_obs) and
  is skewed upwards like the estimator's sampling distribution. Where the estimate of f0 is 0 the
  log interval has no width; the macros then give an explicit one-sided upper bound (below).

  Every bound is rounded outward to whole advertisers (floor the lower, ceil the upper): N is a
  whole number, so no N leaves the interval by it. It matters where few advertisers go unseen
  (sites that see nearly everyone): the true unseen count is then often 0 while the estimate of f0
  is a fraction, and S + f0 / C lay above the truth (textbook case, both sites 0.95 a year, 100
  advertisers: coverage 22 %; 0.99, 1,000 advertisers: 8 %). Rounded: 100 % and 100 %.
-#}

{%- macro hp_z() -%}1.959963984540054{%- endmacro -%}

{#- Chapman (1951) two-source estimator. n1 seen on site a, n2 on site b, m2 on both. -#}
{%- macro chapman_n(n1, n2, m2) -%}
(({{ n1 }} + 1.0) * ({{ n2 }} + 1.0) / ({{ m2 }} + 1.0) - 1.0)
{%- endmacro -%}

{%- macro chapman_variance(n1, n2, m2) -%}
(({{ n1 }} + 1.0) * ({{ n2 }} + 1.0) * ({{ n1 }} - {{ m2 }}) * ({{ n2 }} - {{ m2 }})
 / (({{ m2 }} + 1.0) * ({{ m2 }} + 1.0) * ({{ m2 }} + 2.0)))
{%- endmacro -%}

{#- Distinct advertisers seen on either site. -#}
{%- macro chapman_seen(n1, n2, m2) -%}
({{ n1 }} + {{ n2 }} - {{ m2 }})
{%- endmacro -%}

{#- N - S_obs, exactly (n1 - m2)(n2 - m2) / (m2 + 1): the advertisers neither site saw. -#}
{%- macro chapman_unseen(n1, n2, m2) -%}
(({{ n1 }} - {{ m2 }}) * 1.0 * ({{ n2 }} - {{ m2 }}) / ({{ m2 }} + 1.0))
{%- endmacro -%}

{#- C of the log-normal interval; only called where f0 > 0 and var > 0. -#}
{%- macro hp_log_factor(f0, var) -%}
exp({{ hp_z() }} * sqrt(ln(1.0 + ({{ var }}) / (({{ f0 }}) * ({{ f0 }})))))
{%- endmacro -%}

{#-
  Full overlap (every advertiser of one site also on the other, so f0 = 0 and the variance is 0):
  if N advertisers exist and the larger site saw n_big of them, the chance that all m2 advertisers
  of the smaller site are among them is about (n_big / N)^m2. The 97.5 % upper bound is the N where
  that chance is 2.5 %: n_big * 0.025^(-1/m2). The lower bound is what was seen.
-#}
{#-
  Small overlap (m2 < min_overlap): the estimate is skewed far upwards when few advertisers happen
  to be recaptured, so the log-normal lower bound often lies above the truth (calibration: 44-86 %
  coverage for m2 = 2..5). Below min_overlap the lower bound is what was seen, the one bound that
  always holds; the upper bound is the larger of the log-normal one and a Poisson bound (below).
-#}
{%- macro chapman_ci_low(n1, n2, m2, min_overlap) -%}
(case
    when {{ m2 }} <= 0 then null
    when {{ chapman_unseen(n1, n2, m2) }} <= 0 then {{ chapman_seen(n1, n2, m2) }} * 1.0
    when {{ m2 }} < {{ min_overlap }} then {{ chapman_seen(n1, n2, m2) }} * 1.0
    else floor({{ chapman_seen(n1, n2, m2) }}
        + {{ chapman_unseen(n1, n2, m2) }}
        / {{ hp_log_factor(chapman_unseen(n1, n2, m2), chapman_variance(n1, n2, m2)) }})
end)
{%- endmacro -%}

{#-
  The 2.5 % lower confidence limit of a Poisson mean from an observed count k >= 1 (half the 2.5 %
  quantile of chi-square with 2k degrees of freedom): -ln(0.975) for k = 1, Wilson-Hilferty from
  k = 2 (at most 7 % below the exact limit at k = 2, under 1 % from k = 3; below it, so a bound
  built on it only widens).
-#}
{%- macro hp_poisson_low(k) -%}
(case
    when {{ k }} = 1 then -ln(0.975)
    else {{ k }} * power(1.0 - 1.0 / (9.0 * {{ k }}) - {{ hp_z() }} / (3.0 * sqrt({{ k }} * 1.0)), 3)
end)
{%- endmacro -%}

{#-
  Small overlap, upper bound: given n1 and n2, the overlap m2 is about Poisson with mean n1 n2 / N
  (hypergeometric, less spread), so N <= n1 n2 / lambda_low(m2) holds with 97.5 % whatever the truth.
  Where the sites together see few of many advertisers (expected overlap about 3 or less), the
  log-normal upper bound alone lay below the truth (textbook case, 100 advertisers at yearly capture
  0.1 per site: coverage 66 %; 300 at 0.05: 47 %); the upper bound is the larger of the two.
-#}
{%- macro chapman_ci_high(n1, n2, m2, min_overlap) -%}
(case
    when {{ m2 }} <= 0 then null
    when {{ chapman_unseen(n1, n2, m2) }} <= 0
        then ceil(greatest({{ n1 }}, {{ n2 }}) * exp(-ln(0.025) / {{ m2 }}))
    when {{ m2 }} < {{ min_overlap }} then ceil(greatest(
        {{ chapman_seen(n1, n2, m2) }}
            + {{ chapman_unseen(n1, n2, m2) }}
            * {{ hp_log_factor(chapman_unseen(n1, n2, m2), chapman_variance(n1, n2, m2)) }},
        {{ n1 }} * 1.0 * {{ n2 }} / {{ hp_poisson_low(m2) }}))
    else ceil(greatest(
        {{ chapman_seen(n1, n2, m2) }}
            + {{ chapman_unseen(n1, n2, m2) }}
            * {{ hp_log_factor(chapman_unseen(n1, n2, m2), chapman_variance(n1, n2, m2)) }},
        {{ chapman_scaled_poisson_high(n1, n2, m2) }}))
end)
{%- endmacro -%}

{#-
  From the minimum overlap on, the upper bound is at least a scaled Poisson bound: given n1 and n2,
  m2 is hypergeometric with mean n1 n2 / N and variance about that mean times
  phi = (1 - p1)(1 - p2), the share of each site's advertisers the other site misses, estimated as
  (1 - m2 / n1)(1 - m2 / n2). m2 / phi is then taken as Poisson (its mean's 2.5 % lower limit by
  hp_poisson_low, Wilson-Hilferty), so N <= n1 n2 / (phi lambda_low(m2 / phi)). Where the sites see
  a small share of the advertisers (yearly capture 0.05-0.3 per site, expected overlap 7-40) the
  log-normal upper bound alone lay below the truth too often (textbook case, 4,000 replicates:
  coverage 93.4 % at 800 advertisers with capture 0.15 per site, 93.6 % at 5,000 with 0.05); with
  phi near 1 this is the Poisson bound of the small-overlap rule. Where the sites see most
  advertisers phi is small and the log-normal bound is the larger. Only called with 0 < m2 < n1, n2.
-#}
{%- macro chapman_scaled_poisson_high(n1, n2, m2) -%}
({{ n1 }} * 1.0 * {{ n2 }} / (
    (1.0 - {{ m2 }} * 1.0 / {{ n1 }}) * (1.0 - {{ m2 }} * 1.0 / {{ n2 }})
    * {{ hp_poisson_low('(' ~ m2 ~ ' / ((1.0 - ' ~ m2 ~ ' * 1.0 / ' ~ n1 ~ ') * (1.0 - ' ~ m2 ~ ' * 1.0 / ' ~ n2 ~ ')))') }}))
{%- endmacro -%}

{#-
  Chao's estimator from repeated occasions (Chao 1987; "Chao2" for incidence data): the weeks of
  the year are the occasions, s_obs advertisers were seen in at least one week, f1 in exactly one
  and f2 in exactly two, t weeks observed. Unseen f0 = ((t-1)/t) f1^2 / (2 f2); with f2 = 0 the
  bias-corrected ((t-1)/t) f1 (f1 - 1) / 2. It is a lower bound under heterogeneity (advertisers
  that are rarely seen are under-represented among the singletons), and independent of the
  two-site overlap. Variance from Chao (1987) with A = (t-1)/t.
-#}
{%- macro chao2_a(t) -%}
(greatest({{ t }} - 1.0, 0.0) / greatest({{ t }} * 1.0, 1.0))
{%- endmacro -%}

{%- macro chao2_unseen(f1, f2, t) -%}
(case
    when {{ f2 }} > 0 then {{ chao2_a(t) }} * {{ f1 }} * {{ f1 }} / (2.0 * {{ f2 }})
    else {{ chao2_a(t) }} * {{ f1 }} * ({{ f1 }} - 1.0) / 2.0
end)
{%- endmacro -%}

{%- macro chao2_n(s_obs, f1, f2, t) -%}
({{ s_obs }} + {{ chao2_unseen(f1, f2, t) }})
{%- endmacro -%}

{%- macro chao2_variance(f1, f2, t) -%}
(case
    when {{ f2 }} > 0 then {{ f2 }} * (
        {{ chao2_a(t) }} / 2.0 * power({{ f1 }} * 1.0 / {{ f2 }}, 2)
        + power({{ chao2_a(t) }}, 2) * power({{ f1 }} * 1.0 / {{ f2 }}, 3)
        + power({{ chao2_a(t) }}, 2) / 4.0 * power({{ f1 }} * 1.0 / {{ f2 }}, 4))
    else {{ chao2_a(t) }} * {{ f1 }} * ({{ f1 }} - 1.0) / 2.0
        + power({{ chao2_a(t) }}, 2) * {{ f1 }} * power(2.0 * {{ f1 }} - 1.0, 2) / 4.0
end)
{%- endmacro -%}

{#-
  Chao2 is estimable from two weekly occasions on (t >= 2) and some advertiser seen (s_obs > 0).
  With one week (the first week of an ISO year) every advertiser seen is a singleton and nothing
  can be said about the unseen: no estimate rather than an interval of zero width.
-#}
{%- macro chao2_estimable(s_obs, t) -%}
({{ s_obs }} > 0 and {{ t }} >= 2)
{%- endmacro -%}

{#-
  No singletons (f0 = 0): nothing suggests unseen advertisers, but a few may exist. The upper bound
  puts the 97.5 % Poisson upper limit for an observed count of 0 (-ln 0.025 = 3.69) in place of f1.

  Few doubletons (f2 < min_doubletons): f0 = f1^2 / (2 f2) is skewed far upwards when few
  advertisers happen to be seen in exactly two weeks, so the log-normal lower bound often lies
  above the truth (textbook case, Motala size: coverage 0 % at f2 = 1, 50 % at 3, 79 % at 5,
  86 % at 6). Below min_doubletons the lower bound is what was seen (s_obs), the one bound that
  always holds; the upper bound stays log-normal. The same rule as Chapman's small overlap.
-#}
{%- macro chao2_ci_low(s_obs, f1, f2, t, min_doubletons) -%}
(case
    when not {{ chao2_estimable(s_obs, t) }} then null
    when {{ chao2_unseen(f1, f2, t) }} <= 0 or {{ chao2_variance(f1, f2, t) }} <= 0 then {{ s_obs }} * 1.0
    when {{ f2 }} < {{ min_doubletons }} then {{ s_obs }} * 1.0
    else floor({{ s_obs }} + {{ chao2_unseen(f1, f2, t) }}
        / {{ hp_log_factor(chao2_unseen(f1, f2, t), chao2_variance(f1, f2, t)) }})
end)
{%- endmacro -%}

{%- macro chao2_ci_high(s_obs, f1, f2, t) -%}
(case
    when not {{ chao2_estimable(s_obs, t) }} then null
    when {{ chao2_unseen(f1, f2, t) }} <= 0 or {{ chao2_variance(f1, f2, t) }} <= 0
        then ceil({{ s_obs }} + {{ chao2_a(t) }} * power(-ln(0.025), 2) / (2.0 * greatest({{ f2 }}, 1)))
    else ceil({{ s_obs }} + {{ chao2_unseen(f1, f2, t) }}
        * {{ hp_log_factor(chao2_unseen(f1, f2, t), chao2_variance(f1, f2, t)) }})
end)
{%- endmacro -%}

{#- How chao2_ci_low/high were computed (null where there is no estimate). -#}
{%- macro chao2_ci_method(s_obs, f1, f2, t, min_doubletons) -%}
(case
    when not {{ chao2_estimable(s_obs, t) }} then null
    when {{ chao2_unseen(f1, f2, t) }} <= 0 or {{ chao2_variance(f1, f2, t) }} <= 0
        then 'no_singletons_poisson_bound'
    when {{ f2 }} < {{ min_doubletons }} then 'low_doubletons_seen_to_log_normal'
    else 'chao1987_log_normal'
end)
{%- endmacro -%}

{%- macro chao2_status(s_obs, f2, t, min_doubletons) -%}
(case
    when {{ s_obs }} <= 0 then 'no_advertisers'
    when {{ t }} < 2 then 'too_few_weeks'
    when {{ f2 }} < {{ min_doubletons }} then 'low_doubletons'
    else 'ok'
end)
{%- endmacro -%}

{#- Chapman's interval method and status (the minimum overlap is var chapman_min_overlap). -#}
{%- macro chapman_ci_method(n1, n2, m2, min_overlap) -%}
(case
    when {{ m2 }} <= 0 then null
    when {{ chapman_unseen(n1, n2, m2) }} <= 0 then 'full_overlap_binomial_bound'
    when {{ m2 }} < {{ min_overlap }} then 'low_overlap_seen_to_poisson_bound'
    else 'chao1987_log_normal'
end)
{%- endmacro -%}

{%- macro chapman_status(n1, n2, m2, min_overlap) -%}
(case
    when {{ n1 }} + {{ n2 }} = 0 then 'no_advertisers'
    when {{ m2 }} <= 0 then 'no_overlap'
    when {{ m2 }} < {{ min_overlap }} then 'low_overlap'
    else 'ok'
end)
{%- endmacro -%}
